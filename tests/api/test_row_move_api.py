"""POST /incidents/{ref}/<rows>/{id}/move: the API's way to reorder hand-ordered rows."""

from __future__ import annotations

import pytest

from tests.api.test_incidents_api import bearer, errors, incident_url, send_json
from tests.factories import CauseFactory, IncidentFactory, LessonFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    return IncidentFactory()


def causes_in_order(incident) -> list[str]:
    return list(incident.causes.order_by("order", "id").values_list("title", flat=True))


@pytest.fixture
def three_causes(incident):
    return [
        CauseFactory(incident=incident, kind="contributing", title=title, order=i)
        for i, title in enumerate(["first", "second", "third"])
    ]


def test_moving_a_cause_up_swaps_it_with_the_one_above(incident, three_causes):
    api = bearer(user_with_role("editor"))
    url = incident_url(incident, f"/causes/{three_causes[2].pk}/move")

    response = send_json(api, "post", url, {"offset": -1})

    assert response.status_code == 200, response.content
    assert response.json()["order"] == 1
    assert causes_in_order(incident) == ["first", "third", "second"]


def test_moving_past_the_end_stops_there(incident, three_causes):
    api = bearer(user_with_role("editor"))
    url = incident_url(incident, f"/causes/{three_causes[0].pk}/move")

    send_json(api, "post", url, {"offset": 99})

    assert causes_in_order(incident) == ["second", "third", "first"]


@pytest.mark.parametrize("body", [{}, {"offset": "1"}, {"offset": 1.0}, {"offset": 1, "x": 1}])
def test_a_bad_move_is_a_400_and_moves_nothing(incident, three_causes, body):
    api = bearer(user_with_role("editor"))
    url = incident_url(incident, f"/causes/{three_causes[2].pk}/move")

    response = send_json(api, "post", url, body)

    assert response.status_code == 400
    assert errors(response)
    assert causes_in_order(incident) == ["first", "second", "third"]


def test_a_viewer_cannot_move_rows(incident, three_causes):
    api = bearer(user_with_role("viewer"), scope="read")
    url = incident_url(incident, f"/causes/{three_causes[2].pk}/move")

    assert send_json(api, "post", url, {"offset": -1}).status_code == 403
    assert causes_in_order(incident) == ["first", "second", "third"]


def test_a_row_of_another_incident_is_a_404(incident):
    other = LessonFactory()
    api = bearer(user_with_role("editor"))

    response = send_json(
        api, "post", incident_url(incident, f"/lessons/{other.pk}/move"), {"offset": 1}
    )

    assert response.status_code == 404


def test_timeline_events_have_no_move(incident):
    api = bearer(user_with_role("editor"))
    event = incident.timeline_events.create(occurred_at=incident.started_at, text="x")

    response = send_json(
        api, "post", incident_url(incident, f"/timeline-events/{event.pk}/move"), {"offset": 1}
    )

    assert response.status_code == 404
