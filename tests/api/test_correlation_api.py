"""GET /api/v1/incidents/{ref}/correlation: deployments, suspect, last known good and health
around an incident, as documented, in a fixed number of queries."""

from __future__ import annotations

import pytest
import schemathesis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from deployments.models import Deployment
from incidents.models import TimelineEvent
from tests.api.test_incidents_api import API, assert_documented, bearer, problem_type
from tests.deployments.test_correlation import at
from tests.factories import ChangeFactory, IncidentFactory, UserFactory, user_with_role
from tests.incidents.test_system_panel import outage

pytestmark = pytest.mark.django_db

TEMPLATE = "/api/v1/incidents/{ref}/correlation"


def url(incident) -> str:
    return f"{API}/incidents/{incident.reference}/correlation"


@pytest.fixture
def api() -> APIClient:
    return bearer(user_with_role("viewer"), scope="read")


@pytest.fixture(scope="module")
def openapi():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


def test_it_answers_window_deployments_suspect_last_known_good_health_and_events(api, openapi):
    system, incident, good, bad = outage(deployments=3)
    fix = system.deploy(5, commit_sha="f1f1f1f" + "3" * 33)
    flag = ChangeFactory(service=system.service, summary="Cache off", at=at(6))
    response = api.get(url(incident))
    assert response.status_code == 200, response.content
    assert_documented(openapi, TEMPLATE, "GET", url(incident), response)
    body = response.json()
    assert body["incident"] == incident.reference
    assert body["window"] == {
        "start": "2026-01-02T06:02:00Z",
        "end": "2026-01-02T06:12:00Z",
        "deployments_from": "2026-01-01T06:02:00Z",
    }
    # The good one finished 300 minutes before: inside the 24 hours, as are the two others.
    ids = [row["id"] for row in body["deployments"]]
    assert ids[0] == good.pk
    assert ids[-2:] == [bad.pk, fix.pk]
    assert len(ids) == 5
    assert [row["id"] for row in body["deployments"] if row["is_suspect"]] == [bad.pk]
    assert body["suspect"]["id"] == bad.pk
    assert body["suspect"]["health"] == Deployment.Health.UNHEALTHY
    assert body["last_known_good"]["id"] == good.pk
    assert body["last_known_good"]["rollback_command"] == {
        "text": f"rollback {good.external_id}",
        "rendered": True,
        "problem": "",
    }
    bracketing = body["bracketing"]
    assert bracketing["before"]["taken_at"] == "2026-01-02T06:01:00Z"
    assert bracketing["after"]["taken_at"] == "2026-01-02T06:12:00Z"
    assert [(f["name"], f["count"]) for f in bracketing["failing"]] == [
        ("Check 0", 10),
        ("Check 1", 10),
    ]
    assert bracketing["failing"][0]["last_error"].startswith("Expected HTTP 200")
    assert [(e["source"], e["kind"], e["deployment"], e["change"]) for e in body["events"]] == [
        ("health", "health", None, None),
        ("deployment", "deployment", fix.pk, None),
        ("change", "change", None, flag.pk),
        ("health", "health", None, None),
    ]


def test_changes_in_the_window_are_answered_with_the_suspect_among_them(api, openapi):
    system, incident, _good, _bad = outage()
    suspect = ChangeFactory(
        service=system.service,
        environment=system.production,
        kind="feature_flag",
        summary="New checkout",
        link="https://flags.example.test/1",
        by="release bot",
        external_id="flag-1",
        at=at(-1),
    )
    later = ChangeFactory(service=system.service, at=at(4))
    response = api.get(url(incident))
    assert_documented(openapi, TEMPLATE, "GET", url(incident), response)
    body = response.json()
    assert [(c["id"], c["is_suspect"]) for c in body["changes"]] == [
        (suspect.pk, True),
        (later.pk, False),
    ]
    assert body["suspect_change"] == {
        "id": suspect.pk,
        "environment": "production",
        "kind": "feature_flag",
        "summary": "New checkout",
        "link": "https://flags.example.test/1",
        "at": "2026-01-02T06:01:00Z",
        "by": "release bot",
        "external_id": "flag-1",
    }
    assert body["changes"][1]["environment"] is None


def test_a_deployment_the_timeline_names_is_not_repeated_in_events(api):
    system, incident, _good, _bad = outage()
    fix = system.deploy(5)
    TimelineEvent.objects.create(
        incident=incident, occurred_at=fix.started_at, text="x", deployment=fix
    )
    sources = [e["source"] for e in api.get(url(incident)).json()["events"]]
    assert sources == ["health", "health"]


def test_an_unknown_placeholder_is_answered_unrendered_with_the_problem(api, openapi):
    _system, incident, _good, _bad = outage(template="rollback {nope}")
    response = api.get(url(incident))
    assert_documented(openapi, TEMPLATE, "GET", url(incident), response)
    command = response.json()["last_known_good"]["rollback_command"]
    assert command["text"] == "rollback {nope}"
    assert command["rendered"] is False
    assert "{nope}" in command["problem"]


def test_an_incident_with_nothing_around_it_answers_nulls(api, openapi):
    incident = IncidentFactory()
    response = api.get(url(incident))
    assert_documented(openapi, TEMPLATE, "GET", url(incident), response)
    body = response.json()
    assert (body["suspect"], body["last_known_good"], body["suspect_change"]) == (None,) * 3
    assert body["deployments"] == body["events"] == body["changes"] == []
    assert body["bracketing"] == {"before": None, "failing": [], "after": None}


def test_an_unknown_reference_is_a_problem_404(api, openapi):
    response = api.get(f"{API}/incidents/INC-404/correlation")
    assert response.status_code == 404
    assert problem_type(response) == "not-found"
    assert_documented(openapi, TEMPLATE, "GET", f"{API}/incidents/INC-404/correlation", response)


def test_it_needs_credentials(openapi):
    incident = IncidentFactory()
    response = APIClient().get(url(incident))
    assert response.status_code == 401
    assert_documented(openapi, TEMPLATE, "GET", url(incident), response)


def test_a_user_without_a_role_is_refused():
    client = bearer(UserFactory(), scope="read")
    response = client.get(url(IncidentFactory()))
    assert response.status_code == 403
    assert problem_type(response) == "permission-denied"


def test_the_query_count_does_not_grow_with_deployments_snapshots_or_events(api):
    counts = []
    for size in (1, 50):
        system, incident, _good, _bad = outage(deployments=size)
        for i in range(size):
            system.deploy(1 + i * 0.1)
            ChangeFactory(service=system.service, at=at(-100 + i))
            ChangeFactory(service=system.service, at=at(1 + i * 0.1))  # within the incident
        api.get(url(incident))  # the token's first use is stamped once; not what is measured
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url(incident))
        assert response.status_code == 200
        assert len(response.json()["events"]) == 2 * size + 2
        assert len(response.json()["changes"]) == 2 * size
        counts.append(len(captured.captured_queries))
    # Token (1), permissions (2), incident (1), correlation (9), the deployments the timeline
    # names (1), merged events (3).
    assert counts == [17, 17], counts
