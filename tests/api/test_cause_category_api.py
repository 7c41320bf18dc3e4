"""A cause's category through the API: written, read back, cleared, and refused when unknown."""

from __future__ import annotations

import pytest

from incidents.models import Cause
from tests.api.test_incidents_api import bearer, errors, if_match, incident_url, send_json
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return bearer(user_with_role("editor"))


@pytest.fixture
def incident():
    return IncidentFactory(number=12)


def test_a_cause_is_written_with_its_category_and_read_back(api, incident):
    response = send_json(
        api,
        "post",
        incident_url(incident, "/causes"),
        {"title": "A slow query", "category": "code"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["category"] == "code"
    cause = Cause.objects.get(pk=response.json()["id"])
    assert cause.category == Cause.Category.CODE
    detail = api.get(incident_url(incident)).json()
    assert detail["causes"][0]["category"] == "code"


def test_a_cause_without_a_category_is_uncategorised_and_can_be_cleared(api, incident):
    response = send_json(api, "post", incident_url(incident, "/causes"), {"title": "Unclear"})
    assert response.json()["category"] == ""
    cause = Cause.objects.get(pk=response.json()["id"])
    url = incident_url(incident, f"/causes/{cause.pk}")
    set_ = send_json(api, "patch", url, {"category": "data"}, **if_match(cause.version))
    assert set_.json()["category"] == "data"
    cleared = send_json(api, "patch", url, {"category": ""}, **if_match(set_.json()["version"]))
    assert cleared.json()["category"] == ""


def test_an_unknown_category_is_refused_with_the_choices(api, incident):
    response = send_json(
        api, "post", incident_url(incident, "/causes"), {"title": "x", "category": "gremlins"}
    )
    assert "code" in errors(response)["category"][0]
    assert not Cause.objects.exists()
