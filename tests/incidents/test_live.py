"""Live, together: every write through the services moves the incident page's change counter,
an open page's poll costs one query and answers 304 while nothing changed, and presence lives
in the cache with a short life."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.communications.defaults import default_templates_ensure
from incidents.communications.services import communication_generate
from incidents.drafting.services import postmortem_draft_propose, proposals_discard_all
from incidents.models import (
    ActionItem,
    CommunicationTemplate,
    Incident,
    Lesson,
    LiveMark,
    PathPriority,
    SolutionOption,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services
from incidents.statuspage.services.visibility import incident_publish
from tests.factories import T0, IncidentFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def incident():
    return services.incident_create(service=ServiceFactory(), title="Checkout down", started_at=T0)


@pytest.fixture
def ana():
    return user_with_role("editor", username="ana")


@pytest.fixture
def ben():
    return user_with_role("editor", username="ben")


@pytest.fixture
def as_ana(client, ana):
    client.force_login(ana)
    return client


@pytest.fixture
def as_ben(ben):
    """Ben in his own browser."""
    other = Client()
    other.force_login(ben)
    return other


def state_url(incident, **query):
    url = reverse("incidents:live_state", args=[incident.reference])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def parts_url(incident, *names):
    url = reverse("incidents:live_parts", args=[incident.reference])
    return url + "?" + "&".join(f"name={n}" for n in names)


def _ours(queries):
    """The statements the view ran itself, not the login's (reading the session and the user)."""
    login = ('FROM "django_session"', 'FROM "auth_user"')
    return [q["sql"] for q in queries if not any(table in q["sql"] for table in login)]


@pytest.mark.parametrize("rows", [1, 50])
def test_a_poll_when_nothing_changed_is_answered_304_with_one_query_besides_the_login(
    as_ana, ana, incident, rows, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(rows):
            services.part_save(
                row=Lesson(incident=incident, kind="went_wrong", text=f"L{n}"), user=ana
            )
    first = as_ana.get(state_url(incident))
    assert first.status_code == 200
    etag = first["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = as_ana.get(state_url(incident), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""
    [ours] = _ours(queries.captured_queries)
    # One table only: a statement over one table never waits for a second lock while holding a
    # first, so a poll cannot deadlock with any other statement (the test suite's TRUNCATE
    # between browser tests, say).
    assert "incidents_livemark" in ours
    assert "JOIN" not in ours
    # The login's own: the session and the user, whatever the page.
    assert len(queries.captured_queries) == 3
    assert "no-store" in again["Cache-Control"]


def test_an_incident_the_services_declare_has_its_counter_from_the_start(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_create(
            service=ServiceFactory(), title="Search is slow", started_at=T0
        )
    assert LiveMark.objects.filter(incident=incident, part=LiveMark.PAGE).exists()


def test_an_incident_without_a_counter_gets_one_at_its_first_poll(as_ana):
    incident = IncidentFactory()  # straight into the table, as the admin or a script might
    first = as_ana.get(state_url(incident))
    assert first.json()["serial"] == 0
    assert LiveMark.objects.filter(number=incident.number, part=LiveMark.PAGE).count() == 1
    with CaptureQueriesContext(connection) as queries:
        again = as_ana.get(state_url(incident), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert len(_ours(queries.captured_queries)) == 1


@pytest.mark.parametrize("rows", [1, 50])
def test_a_poll_after_a_change_reads_the_marks_in_one_more_query(
    as_ana, ana, incident, rows, django_capture_on_commit_callbacks
):
    before = as_ana.get(state_url(incident))
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(rows):
            services.part_save(
                row=Lesson(incident=incident, kind="went_wrong", text=f"L{n}"), user=ana
            )
        services.incident_update(
            incident=incident, expected_version=incident.version, user=ana, summary="Words"
        )
    with CaptureQueriesContext(connection) as queries:
        after = as_ana.get(state_url(incident), HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert set(after.json()["parts"]) == {"section-lessons", "prose-summary"}
    assert len(_ours(queries.captured_queries)) == 2


def test_the_state_lists_each_changed_part_with_who_changed_it(
    as_ana, ana, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.part_save(row=Lesson(incident=incident, kind="went_wrong", text="A"), user=ana)
    state = as_ana.get(state_url(incident)).json()
    assert state["serial"] == 1
    assert state["parts"] == {"section-lessons": {"serial": 1, "by": "ana", "mine": True}}
    assert state["present"] == []


def _writes(incident: Incident, user) -> dict[str, tuple[str, Callable[[], object]]]:
    """Each kind of write an editor makes, with the part of the page it changes."""

    def lesson():
        return Lesson.objects.create(incident=incident, kind="went_wrong", text="Slow rollback")

    def item():
        return ActionItem.objects.create(incident=incident, title="Add a pre-deploy check")

    def criterion():
        return SuccessCriterion.objects.create(incident=incident, text="No missing files")

    def event():
        return TimelineEvent.objects.create(incident=incident, occurred_at=T0, text="Deploy")

    def option():
        priority = PathPriority.objects.create(incident=incident, title="Build checks")
        return SolutionOption.objects.create(priority=priority, label="A", title="Check in CI")

    def changed(row, **values):
        for name, value in values.items():
            setattr(row, name, value)
        return services.part_save(
            row=row, user=user, fields=list(values), expected_version=row.version
        )

    def moved():
        first = lesson()
        lesson()
        return services.part_move(row=first, offset=1, user=user)

    def template():
        # Shipped by a data migration, which a flushing test earlier on the same worker undoes.
        default_templates_ensure()
        return CommunicationTemplate.objects.get(slug="status-investigating")

    def resolved():
        return services.incident_set_status(
            incident=incident, status="resolved", user=user, at=T0 + timedelta(minutes=16)
        )

    return {
        "a new row": (
            "section-lessons",
            lambda: services.part_save(
                row=Lesson(incident=incident, kind="went_wrong", text="New"), user=user
            ),
        ),
        "an edited row": ("section-lessons", lambda: changed(lesson(), text="Edited")),
        "an edited option": ("section-priorities", lambda: changed(option(), title="Other")),
        "a deleted row": ("section-lessons", lambda: services.part_delete(row=lesson(), user=user)),
        "a moved row": ("section-lessons", moved),
        "a ticked criterion": (
            "section-criteria",
            lambda: services.criterion_set_done(criterion=criterion(), done=True, user=user),
        ),
        "a timeline line": (
            "section-timeline",
            lambda: services.timeline_event_add(
                incident=incident, occurred_at=T0, text="Paged", created_by=user
            ),
        ),
        "a hidden timeline line": (
            "section-timeline",
            lambda: services.timeline_event_set_hidden(event=event(), hidden=True, user=user),
        ),
        "the prose": (
            "prose-summary",
            lambda: services.incident_update(
                incident=incident, expected_version=incident.version, user=user, summary="Words"
            ),
        ),
        "the details": (
            "summary-box",
            lambda: services.incident_update(
                incident=incident, expected_version=incident.version, user=user, title="Other"
            ),
        ),
        "the status": ("summary-box", resolved),
        "the post-mortem state": (
            "summary-box",
            lambda: services.incident_set_postmortem_state(
                incident=incident, state="in_review", user=user
            ),
        ),
        "a duplicate": (
            "duplicate",
            lambda: services.incident_mark_duplicate(
                incident=incident,
                original=services.incident_create(
                    service=incident.service, title="First report", started_at=T0
                ),
                user=user,
            ),
        ),
        "a completed item": (
            "section-actions",
            lambda: services.action_item_complete(item=item(), user=user),
        ),
        "a started item": (
            "section-actions",
            lambda: services.action_item_start(item=item(), user=user),
        ),
        "a dropped item": (
            "section-actions",
            lambda: services.action_item_drop(item=item(), user=user, reason="Not needed"),
        ),
        "an assigned item": (
            "section-actions",
            lambda: services.action_item_assign(item=item(), user=user, priority="p1"),
        ),
        "a message drafted": (
            "section-communications",
            lambda: communication_generate(incident=incident, template=template(), user=user),
        ),
        "the status page": (
            "visibility",
            lambda: incident_publish(incident=incident, user=user),
        ),
        "a proposed draft": (
            "draft",
            lambda: postmortem_draft_propose(incident=incident, user=user),
        ),
        "a discarded draft": (
            "section-timeline",
            lambda: proposals_discard_all(incident=incident, user=user),
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "a new row",
        "an edited row",
        "an edited option",
        "a deleted row",
        "a moved row",
        "a ticked criterion",
        "a timeline line",
        "a hidden timeline line",
        "the prose",
        "the details",
        "the status",
        "the post-mortem state",
        "a duplicate",
        "a completed item",
        "a started item",
        "a dropped item",
        "an assigned item",
        "a message drafted",
        "the status page",
        "a proposed draft",
        "a discarded draft",
    ],
)
def test_a_write_through_each_kind_of_service_changes_the_etag_and_names_its_part(
    kind, as_ana, ben, incident, django_capture_on_commit_callbacks
):
    part, write = _writes(incident, ben)[kind]
    before = as_ana.get(state_url(incident))
    with django_capture_on_commit_callbacks(execute=True):
        write()
    after = as_ana.get(state_url(incident), HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    state = after.json()
    assert state["serial"] > before.json()["serial"]
    # A write may touch several parts (a status change also writes on the timeline), one mark
    # each: this part's is one of them.
    assert state["parts"][part]["serial"] > before.json()["serial"]
    assert state["parts"][part]["by"] == "ben"
    assert state["parts"][part]["mine"] is False


def test_a_write_that_rolls_back_marks_nothing(incident, ana, django_capture_on_commit_callbacks):
    def save_then_fail():
        with transaction.atomic():
            services.part_save(row=Lesson(incident=incident, kind="went_wrong", text="A"), user=ana)
            raise RuntimeError("the request failed after the save")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        save_then_fail()
    assert not LiveMark.objects.filter(incident=incident).exists()


def test_the_incident_page_starts_from_its_serial(
    as_ana, ana, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.part_save(row=Lesson(incident=incident, kind="went_wrong", text="A"), user=ana)
        services.part_save(row=Lesson(incident=incident, kind="went_wrong", text="B"), user=ana)
    page = as_ana.get(reverse("incidents:detail", args=[incident.reference]))
    assert b'data-serial="2"' in page.content
    assert b"js/live.js" in page.content


def test_who_else_is_on_the_page_and_what_they_edit_shows_and_changes_the_etag(
    as_ana, as_ben, incident
):
    alone = as_ana.get(state_url(incident))
    assert alone.json()["present"] == []
    ben_sees = as_ben.get(state_url(incident, editing="section-actions")).json()["present"]
    assert ben_sees == [{"username": "ana", "editing": ""}]
    together = as_ana.get(state_url(incident), HTTP_IF_NONE_MATCH=alone["ETag"])
    assert together.status_code == 200
    assert together.json()["present"] == [{"username": "ben", "editing": "section-actions"}]


def test_a_part_that_is_no_part_of_the_page_is_not_repeated_to_others(as_ana, as_ben, incident):
    as_ben.get(state_url(incident, editing="<b>anything</b>"))
    assert as_ana.get(state_url(incident)).json()["present"] == [{"username": "ben", "editing": ""}]


def test_presence_expires_when_a_page_stops_asking(as_ana, as_ben, incident, settings):
    settings.HINDSIGHT_LIVE_PRESENCE_SECONDS = 1
    as_ben.get(state_url(incident))
    assert [p["username"] for p in as_ana.get(state_url(incident)).json()["present"]] == ["ben"]
    time.sleep(1.5)
    assert as_ana.get(state_url(incident)).json()["present"] == []


def test_a_failing_cache_hides_who_is_there_and_nothing_else(as_ana, incident, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    monkeypatch.setattr(cache, "get_many", broken)
    answer = as_ana.get(state_url(incident))
    assert answer.status_code == 200
    assert answer.json()["present"] == []
    assert as_ana.get(state_url(incident), HTTP_IF_NONE_MATCH=answer["ETag"]).status_code == 304


def test_the_changed_parts_come_back_in_one_answer(as_ana, ana, incident):
    services.part_save(
        row=Lesson(incident=incident, kind="went_wrong", text="Slow rollback"), user=ana
    )
    answer = as_ana.get(parts_url(incident, "section-lessons", "prose-summary", "no-such-part"))
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'id="section-lessons"' in html
    assert "Slow rollback" in html
    assert 'id="prose-summary"' in html
    assert "no-such-part" not in html


def test_asking_for_no_part_is_a_bad_request(as_ana, incident):
    assert as_ana.get(reverse("incidents:live_parts", args=[incident.reference])).status_code == 400


def test_an_incident_that_does_not_exist_is_not_found(as_ana):
    assert as_ana.get("/incidents/INC-999/live").status_code == 404
    assert as_ana.get("/incidents/INC-999/live/parts?name=summary-box").status_code == 404


@pytest.mark.parametrize("which", ["live_state", "live_parts"])
def test_the_live_answers_need_a_login(client, incident, which):
    answer = client.get(reverse(f"incidents:{which}", args=[incident.reference]))
    assert answer.status_code == 302
    assert "/login/" in answer["Location"]
