"""The query-string pieces both apps build their filters from (api.filters): one mistake gets
one answer, whichever list it is made on."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.tokens import token_create
from tests.factories import T0, DeploymentFactory, IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db

PROBLEM = "urn:hindsight:problem:"
EMPTY = "Must not be empty; leave the parameter out instead."
# A moment after 9999-12-31T23:59:59.999999Z: Python reads it, UTC cannot hold it.
BEYOND_UTC = "9999-12-31T23:00:00-05:00"


@pytest.fixture
def api() -> APIClient:
    _token, raw = token_create(user=user_with_role("admin"), name="filters", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def errors(response) -> dict:
    assert response.status_code == 400, response.content
    assert response.json()["type"] == PROBLEM + "validation-error"
    return response.json()["errors"]


def count(response) -> int:
    assert response.status_code == 200, response.content
    return response.json()["count"]


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/incidents", "status"),
        ("/api/v1/incidents", "started_after"),
        ("/api/v1/action-items", "overdue"),
        ("/api/v1/action-items", "due_before"),
        ("/api/v1/deployments", "status"),
        ("/api/v1/deployments", "commit"),
        ("/api/v1/deployments", "started_before"),
        ("/api/v1/environments", "kind"),
        ("/api/v1/health-checks", "enabled"),
        ("/api/v1/health-snapshots", "taken_after"),
        ("/api/v1/gate-runs", "verdict"),
        ("/api/v1/gate-rules", "enabled"),
    ],
)
def test_an_empty_typed_parameter_is_refused_in_the_same_words_on_every_list(api, url, param):
    assert errors(api.get(url, {param: ""})) == {param: [EMPTY]}


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/action-items", "overdue"),
        ("/api/v1/action-items", "blocks_deployments"),
        ("/api/v1/health-checks", "enabled"),
        ("/api/v1/gate-rules", "enabled"),
    ],
)
@pytest.mark.parametrize("value", ["yes", "1", "True", "null"])
def test_a_boolean_is_true_or_false_in_the_same_words_on_every_list(api, url, param, value):
    assert errors(api.get(url, {param: value})) == {param: ["Enter true or false."]}


@pytest.mark.parametrize(
    ("url", "after", "before"),
    [
        ("/api/v1/incidents", "started_after", "started_before"),
        ("/api/v1/deployments", "started_after", "started_before"),
    ],
)
def test_a_time_utc_cannot_hold_lies_after_every_stored_time_on_both_apps(api, url, after, before):
    IncidentFactory(started_at=T0)
    DeploymentFactory(started_at=T0)
    assert count(api.get(url, {after: BEYOND_UTC})) == 0
    assert count(api.get(url, {before: BEYOND_UTC})) == 1


def test_a_time_before_1970_is_refused_where_the_schema_states_1970_and_compared_elsewhere(api):
    IncidentFactory(started_at=T0)
    DeploymentFactory(started_at=T0)
    # Deployments' schema takes 1970 to 9999: this is 1969-12-31T23:00Z.
    early = "1970-01-01T00:00:00+01:00"
    assert errors(api.get("/api/v1/deployments", {"started_after": early})) == {
        "started_after": ["Enter a time between 1970-01-01 and 9999-12-31 (UTC)."]
    }
    # The incidents' schema takes any date-time.
    assert count(api.get("/api/v1/incidents", {"started_after": early})) == 1
