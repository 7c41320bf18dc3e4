"""Editors make an incident public or internal over the API too (the rules:
tests/incidents/test_status_visibility.py)."""

from __future__ import annotations

import pytest

from tests.api.test_incidents_api import (
    API,
    assert_documented,
    bearer,
    etag_version,
    incident_url,
    openapi,  # noqa: F401  (a fixture)
    problem_type,
)
from tests.factories import user_with_role
from tests.incidents.test_status_page import clock  # noqa: F401  (fixture)
from tests.incidents.test_status_visibility import (
    ALL,
    editor,  # noqa: F401  (fixture)
    incident,  # noqa: F401  (fixture)
    where_shown,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "eager")]


def test_the_api_publishes_and_unpublishes_with_the_detail_as_the_answer(
    incident,  # noqa: F811
    editor,  # noqa: F811
    openapi,  # noqa: F811
):
    api = bearer(editor)
    url = incident_url(incident, "/publish")
    published = api.post(url)
    assert published.status_code == 200, published.content
    assert published.json()["public"] is True
    assert published.json()["public_since"] == "2026-03-02T12:00:00Z"
    assert etag_version(published) == incident.version + 1
    assert_documented(openapi, "/api/v1/incidents/{ref}/publish", "POST", url, published)
    assert where_shown(incident) == ALL

    url = incident_url(incident, "/unpublish")
    unpublished = api.post(url)
    assert unpublished.status_code == 200
    assert unpublished.json()["public"] is False
    assert unpublished.json()["public_since"] is None
    assert_documented(openapi, "/api/v1/incidents/{ref}/unpublish", "POST", url, unpublished)
    listed = api.get(f"{API}/incidents").json()["results"][0]
    assert (listed["public"], listed["public_since"]) == (False, None)


@pytest.mark.parametrize("action", ["publish", "unpublish"])
def test_viewers_and_read_tokens_cannot_change_visibility(incident, editor, action):  # noqa: F811
    viewer = bearer(user_with_role("viewer"))
    reader = bearer(editor, scope="read")
    for client in (viewer, reader):
        response = client.post(incident_url(incident, f"/{action}"))
        assert response.status_code == 403
        assert problem_type(response) == "permission-denied"


def test_the_schema_documents_both_actions_beside_resolve(openapi):  # noqa: F811
    for action in ("publish", "unpublish"):
        operation = openapi[f"/api/v1/incidents/{{ref}}/{action}"]["POST"]
        assert "200" in operation.definition.raw["responses"]
