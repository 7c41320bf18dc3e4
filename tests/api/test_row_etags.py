"""Rows of an incident's sections in the API carry their version as an ETag; changing or deleting
one needs If-Match, so a client never overwrites a change it never read. One-click transitions
(move, complete, reopen) need none."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from incidents.models import ActionItem, Lesson
from incidents.postmortem import services
from tests.api.test_incidents_api import (
    API,
    bearer,
    if_match,
    incident_url,
    problem_type,
    send_json,
)
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return bearer(user_with_role("editor"))


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def lesson(incident):
    return services.part_save(
        row=Lesson(incident=incident, kind="went_wrong", text="First words."), user=None
    )


def lesson_url(lesson) -> str:
    return incident_url(lesson.incident, f"/lessons/{lesson.pk}")


def someone_else_saves(row, **changes):
    theirs = type(row).objects.get(pk=row.pk)
    for name, value in changes.items():
        setattr(theirs, name, value)
    return services.part_save(row=theirs, user=None, fields=list(changes))


def test_a_row_answers_its_version_as_a_strong_etag(api, lesson):
    someone_else_saves(lesson, text="Second words.")
    response = api.get(lesson_url(lesson))
    assert response["ETag"] == '"2"'
    assert response.json()["version"] == 2


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_changing_or_deleting_a_row_without_if_match_is_428_and_changes_nothing(
    api, lesson, method
):
    response = send_json(api, method, lesson_url(lesson), {"kind": "lucky", "text": "Mine."})
    assert response.status_code == 428
    assert problem_type(response) == "precondition-required"
    assert "ETag of the row" in response.json()["detail"]
    assert Lesson.objects.get(pk=lesson.pk).text == "First words."


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_stale_if_match_is_412_with_the_current_version_and_keeps_theirs(api, lesson, method):
    """The trial: two clients read a lesson; A writes, B writes: both got 200 and A's text was
    gone."""
    someone_else_saves(lesson, text="A's words.")

    response = send_json(
        api, method, lesson_url(lesson), {"kind": "went_wrong", "text": "B's words."}, **if_match(1)
    )

    assert response.status_code == 412
    assert problem_type(response) == "precondition-failed"
    assert response.json()["current_version"] == 2
    assert response["ETag"] == '"2"'
    assert Lesson.objects.get(pk=lesson.pk).text == "A's words."


def test_the_current_if_match_writes_and_answers_the_new_etag(api, lesson):
    response = send_json(api, "patch", lesson_url(lesson), {"text": "Mine."}, **if_match(1))
    assert response.status_code == 200
    assert (response["ETag"], response.json()["version"]) == ('"2"', 2)
    assert Lesson.objects.get(pk=lesson.pk).text == "Mine."


def test_a_stale_delete_is_412_and_deletes_nothing(api, lesson):
    someone_else_saves(lesson, text="A's words.")
    response = api.delete(lesson_url(lesson), **if_match(1))
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert Lesson.objects.filter(pk=lesson.pk).exists()
    assert api.delete(lesson_url(lesson), **if_match(2)).status_code == 204


@pytest.mark.parametrize("header", ["*", 'W/"1"', "1", '"01"'])
def test_an_if_match_that_is_no_version_we_sent_is_refused(api, lesson, header):
    response = send_json(api, "patch", lesson_url(lesson), {"text": "Mine."}, **if_match(header))
    assert response.status_code in (400, 412)
    assert Lesson.objects.get(pk=lesson.pk).text == "First words."


def test_a_tick_meanwhile_makes_an_if_match_read_before_it_stale(api, incident):
    """The version is the whole row's: a client that read the item before someone ticked it
    reads it again before changing it."""
    item = services.part_save(row=ActionItem(incident=incident, title="Check"), user=None)
    services.action_item_complete(item=item, user=None)
    url = incident_url(incident, f"/action-items/{item.pk}")
    response = send_json(api, "patch", url, {"title": "Check the worker"}, **if_match(1))
    assert response.status_code == 412
    response = send_json(api, "patch", url, {"title": "Check the worker"}, **if_match(2))
    assert response.status_code == 200
    saved = ActionItem.objects.get(pk=item.pk)
    assert (saved.title, saved.status) == ("Check the worker", "done")


def test_complete_and_reopen_stay_one_click_and_bump_the_version(api, incident):
    item = services.part_save(row=ActionItem(incident=incident, title="Check"), user=None)
    done = api.post(f"{API}/action-items/{item.pk}/complete")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["version"]) == ("done", 2)
    reopened = api.post(f"{API}/action-items/{item.pk}/reopen")
    assert (reopened.json()["status"], reopened.json()["version"]) == ("open", 3)


def test_moving_needs_no_if_match_and_answers_the_new_etag(api, incident, lesson):
    services.part_save(row=Lesson(incident=incident, kind="went_wrong", text="Second"), user=None)
    response = send_json(api, "post", f"{lesson_url(lesson)}/move", {"offset": 1})
    assert response.status_code == 200
    assert (response["ETag"], response.json()["order"]) == ('"2"', 1)


def test_a_new_row_answers_etag_1(api, incident):
    response = send_json(
        api, "post", incident_url(incident, "/lessons"), {"kind": "lucky", "text": "x"}
    )
    assert response.status_code == 201
    assert (response["ETag"], response.json()["version"]) == ('"1"', 1)


ROW_PATHS = [
    "/api/v1/incidents/{incident_ref}/timeline-events/{id}",
    "/api/v1/incidents/{incident_ref}/causes/{id}",
    "/api/v1/incidents/{incident_ref}/lessons/{id}",
    "/api/v1/incidents/{incident_ref}/action-items/{id}",
    "/api/v1/incidents/{incident_ref}/success-criteria/{id}",
]


@pytest.mark.parametrize("path", ROW_PATHS)
def test_the_schema_says_which_row_operations_need_if_match_and_what_they_answer(path):
    operations = SchemaGenerator().get_schema(request=None, public=True)["paths"][path]
    for method in ("patch", "put", "delete"):
        operation = operations[method]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert headers["If-Match"]["required"] is True, method
        assert {"412", "428"} <= set(operation["responses"]), method
    for method in ("get", "patch", "put"):
        assert "ETag" in operations[method]["responses"]["200"]["headers"], method
    assert "ETag" in operations["patch"]["responses"]["412"]["headers"]


def test_the_schema_keeps_one_click_transitions_free_of_if_match():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/api/v1/action-items/{id}/complete",
        "/api/v1/action-items/{id}/reopen",
        "/api/v1/incidents/{incident_ref}/lessons/{id}/move",
    ):
        parameters = paths[path]["post"].get("parameters", [])
        assert "If-Match" not in {p["name"] for p in parameters}, path
