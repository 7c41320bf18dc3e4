"""The draft from the facts over the API: POST /incidents/{ref}/draft proposes, .../draft/keep and
.../draft/discard decide; rows say whether they are proposed, the incident its proposed texts."""

from __future__ import annotations

import pytest

from incidents.models import Cause, Incident, TimelineEvent
from tests.api.test_incidents_api import API, bearer, errors, problem_type
from tests.factories import user_with_role
from tests.incidents.test_draft_from_facts import outage

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return bearer(user_with_role("editor"))


@pytest.fixture
def incident() -> Incident:
    _system, incident, _bad = outage()
    return incident


def url(incident: Incident, path: str = "") -> str:
    return f"{API}/incidents/{incident.reference}/draft{path}"


def test_draft_proposes_once_and_the_rows_say_they_are_proposed(api, incident):
    response = api.post(url(incident))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "timeline_events": 8,
        "causes": 1,
        "prose": ["summary", "impact", "resolution"],
    }
    assert api.post(url(incident)).json() == {"timeline_events": 0, "causes": 0, "prose": []}

    detail = api.get(f"{API}/incidents/{incident.reference}").json()
    assert {row["proposed"] for row in detail["timeline"]} == {True}
    assert [row["proposed"] for row in detail["causes"]] == [True]
    assert set(detail["proposed_prose"]) == {"summary", "impact", "resolution"}
    listed = api.get(f"{API}/incidents/{incident.reference}/timeline-events").json()
    assert {row["proposed"] for row in listed["results"]} == {True}


def test_keep_and_discard_take_ids_and_fields_or_all(api, incident):
    api.post(url(incident))
    detected = incident.timeline_events.get(kind=TimelineEvent.Kind.DETECTED)
    cause = incident.causes.get()
    response = api.post(
        url(incident, "/keep"),
        {"timeline_events": [detected.pk], "prose": ["impact"]},
        format="json",
    )
    assert response.json() == {"count": 2}
    detected.refresh_from_db()
    incident.refresh_from_db()
    assert not detected.proposed
    assert incident.impact.startswith("Impact window")
    response = api.post(url(incident, "/discard"), {"causes": [cause.pk]}, format="json")
    assert response.json() == {"count": 1}
    assert not Cause.objects.filter(pk=cause.pk).exists()
    # Seven lines and two texts are left; the kept line is not touched.
    assert api.post(url(incident, "/discard"), {"all": True}, format="json").json() == {"count": 9}
    assert list(incident.timeline_events.values_list("pk", flat=True)) == [detected.pk]


def test_ids_of_another_incidents_rows_decide_nothing(api, incident):
    api.post(url(incident))
    _system, other, _bad = outage()
    api.post(url(other))
    theirs = other.timeline_events.values_list("pk", flat=True)
    response = api.post(url(incident, "/keep"), {"timeline_events": list(theirs)}, format="json")
    assert response.json() == {"count": 0}
    assert not other.timeline_events.filter(proposed=False).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"all": True, "causes": [1]},
        {"prose": ["next_step"]},
        {"timeline_events": ["one"]},
    ],
)
def test_a_decision_that_names_nothing_or_too_much_is_a_400_problem(api, incident, body):
    assert errors(api.post(url(incident, "/keep"), body, format="json"))


def test_a_viewer_is_refused_and_an_unknown_incident_is_a_404(incident):
    viewer = bearer(user_with_role("viewer"))
    response = viewer.post(url(incident))
    assert response.status_code == 403
    assert problem_type(response) == "permission-denied"
    assert not incident.timeline_events.exists()
    response = bearer(user_with_role("editor", username="e2")).post(
        f"{API}/incidents/INC-99999/draft"
    )
    assert response.status_code == 404
