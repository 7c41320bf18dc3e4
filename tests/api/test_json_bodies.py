"""What the API's JSON parser refuses: a repeated key is a 400 naming it, not a silent choice of
the last value; NaN and nesting deeper than the stack are 400s too."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"


@pytest.fixture
def client():
    client = APIClient()
    client.force_authenticate(user_with_role("editor"))
    return client


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "first", "name": "second"}',
        '{"name": "x", "scope": "read", "nested": {"a": 1, "a": 2}}',
    ],
)
def test_a_repeated_key_is_a_400_naming_it_and_creates_nothing(client, body):
    response = client.post(TOKENS, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "urn:hindsight:problem:malformed-request"
    assert "appears twice" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_the_same_key_in_two_objects_is_fine(client):
    body = '{"name": "ci", "scope": "read"}'
    assert client.post(TOKENS, body, content_type="application/json").status_code == 201


def test_nan_is_not_json(client):
    response = client.post(TOKENS, '{"name": NaN}', content_type="application/json")
    assert response.status_code == 400
