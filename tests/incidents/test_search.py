"""One search over everything: the incident list and the API's `q` read the same stored search
document, on PostgreSQL with full-text search (and on SQLite with the plain fallback, tested
here directly)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from core.roles import Role
from incidents.insights import search
from incidents.insights import services as search_services
from incidents.live.services import live_mark_bump
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SearchDocument,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services
from outbox.models import OutboxMessage
from tests.api.test_incidents_api import API, bearer
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    LessonFactory,
    ServiceFactory,
    TimelineEventFactory,
    UserFactory,
    user_with_role,
)
from tests.helpers import search as search_html

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LIST = "incidents:list"


def build_documents() -> None:
    """What the refresh after each commit does; factories write rows without the services."""
    search_services.search_documents_rebuild()


@pytest.fixture
def reader(client):
    client.force_login(UserFactory())
    return client


@pytest.fixture
def api():
    return bearer(user_with_role(Role.EDITOR), scope="read")


def page_titles(client, **params) -> list[str]:
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    return [incident.title for incident in response.context["page"].object_list]


def api_numbers(api, **params) -> list[int]:
    response = api.get(f"{API}/incidents", params)
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


class TestOneSearch:
    def test_the_api_finds_what_the_page_finds_beyond_the_title(self, reader, api):
        # Before, the API's q searched titles only: "canary" in a cause found nothing there.
        incident = IncidentFactory(number=2, title="Checkout down")
        CauseFactory(incident=incident, title="The canary stage was skipped")
        IncidentFactory(number=3, title="Unrelated")
        build_documents()
        assert page_titles(reader, q="canary") == ["Checkout down"]
        assert api_numbers(api, q="canary") == [2]

    @pytest.mark.parametrize(
        "section",
        [
            "title",
            "status_line",
            "summary",
            "impact",
            "resolution",
            "next_step",
            "timeline",
            "cause",
            "lesson",
            "action_item",
            "criterion",
            "status_item",
            "path_forward",
            "option",
            "final_note",
            "message",
        ],
    )
    def test_every_section_is_searched(self, reader, api, section):
        incident = IncidentFactory(number=7, title="Checkout down")
        IncidentFactory(number=8, title="Unrelated")
        word = "zeppelin"
        if section in ("title", "status_line", "summary", "impact", "resolution", "next_step"):
            value = f"The {word} failed" if section != "title" else f"{word} outage"
            Incident.objects.filter(pk=incident.pk).update(**{section: value})
        else:
            write_row(section, incident, f"Notes about the {word} here.")
        build_documents()
        assert api_numbers(api, q=word) == [7]
        assert len(page_titles(reader, q=word)) == 1

    def test_rows_only_proposed_are_left_out_until_kept(self, api):
        incident = IncidentFactory(number=4)
        CauseFactory(incident=incident, title="Proposed zeppelin cause", proposed=True)
        TimelineEventFactory(incident=incident, text="Proposed zeppelin line", proposed=True)
        Incident.objects.filter(pk=incident.pk).update(proposed_prose={"summary": "zeppelin"})
        build_documents()
        assert api_numbers(api, q="zeppelin") == []
        Cause.objects.filter(incident=incident).update(proposed=False)
        build_documents()
        assert api_numbers(api, q="zeppelin") == [4]

    def test_messages_count_once_sent_and_not_once_withdrawn(self, api):
        incident = IncidentFactory(number=5)
        message = Communication.objects.create(
            incident=incident, audience="internal", subject="Zeppelin update", body="Draft."
        )
        build_documents()
        assert api_numbers(api, q="zeppelin") == []
        Communication.objects.filter(pk=message.pk).update(
            status=Communication.Status.SENT, sent_at=T0
        )
        build_documents()
        assert api_numbers(api, q="zeppelin") == [5]
        Communication.objects.filter(pk=message.pk).update(retracted_at=T0)
        build_documents()
        assert api_numbers(api, q="zeppelin") == []

    def test_words_match_their_other_forms_and_every_word_must_match(self, api):
        CauseFactory(incident=IncidentFactory(number=1), title="The workers were deploying")
        IncidentFactory(number=2, title="Worker only")
        build_documents()
        assert api_numbers(api, q="worker deployed") == [1]

    def test_phrases_or_and_minus_work(self, api):
        IncidentFactory(number=1, title="Cache node restarted", started_at=T0)
        IncidentFactory(number=2, title="Node cache warmed", started_at=T0 + timedelta(hours=1))
        IncidentFactory(number=3, title="Queue backed up", started_at=T0 + timedelta(hours=2))
        build_documents()
        assert api_numbers(api, q='"cache node"') == [1]
        assert api_numbers(api, q="queue or restarted") == [3, 1]
        assert api_numbers(api, q="cache -warmed") == [1]

    def test_a_match_in_the_title_ranks_above_one_in_the_rows(self, api):
        older = IncidentFactory(number=1, title="Zeppelin outage", started_at=T0)
        newer = IncidentFactory(number=2, title="Other", started_at=T0 + timedelta(days=1))
        LessonFactory(incident=newer, text="The zeppelin dashboard helped.")
        build_documents()
        assert api_numbers(api, q="zeppelin") == [older.number, newer.number]
        # An ordering the client asks for wins over the rank.
        assert api_numbers(api, q="zeppelin", ordering="-started_at") == [2, 1]

    def test_filters_combine_with_search(self, reader, api):
        service = ServiceFactory(slug="web")
        IncidentFactory(number=1, title="Zeppelin down", severity="sev1", service=service)
        IncidentFactory(number=2, title="Zeppelin slow", severity="sev3", service=service)
        IncidentFactory(number=3, title="Zeppelin slow", severity="sev3")
        build_documents()
        assert api_numbers(api, q="zeppelin", severity="sev3", service="web") == [2]
        assert page_titles(reader, q="zeppelin", severity="sev3", service="web") == [
            "Zeppelin slow"
        ]

    def test_an_incident_without_a_document_yet_is_not_found_until_rebuilt(self, api):
        IncidentFactory(number=1, title="Zeppelin")
        assert api_numbers(api, q="zeppelin") == []
        out = io.StringIO()
        call_command("search_rebuild", stdout=out)
        assert out.getvalue().strip() == "1 search documents built"
        assert api_numbers(api, q="zeppelin") == [1]


def write_row(section: str, incident: Incident, text: str) -> None:
    writers: dict[str, Callable[[], object]] = {
        "timeline": lambda: TimelineEvent.objects.create(
            incident=incident, occurred_at=T0, text=text
        ),
        "cause": lambda: Cause.objects.create(incident=incident, title="A cause", detail=text),
        "lesson": lambda: Lesson.objects.create(incident=incident, kind="went_wrong", text=text),
        "action_item": lambda: ActionItem.objects.create(incident=incident, title=text),
        "criterion": lambda: SuccessCriterion.objects.create(incident=incident, text=text),
        "status_item": lambda: StatusItem.objects.create(
            incident=incident, kind="known_issue", label="Known", detail=text
        ),
        "path_forward": lambda: PathPriority.objects.create(incident=incident, title=text),
        "option": lambda: SolutionOption.objects.create(
            priority=PathPriority.objects.create(incident=incident, title="First"),
            label="A",
            title=text,
        ),
        "final_note": lambda: FinalNote.objects.create(incident=incident, kind="other", text=text),
        "message": lambda: Communication.objects.create(
            incident=incident,
            audience="internal",
            subject="Update",
            body=text,
            status=Communication.Status.SENT,
            sent_at=T0,
        ),
    }
    writers[section]()


class TestSnippets:
    def test_the_page_shows_the_match_highlighted_and_what_was_typed_escaped(self, reader):
        incident = IncidentFactory(title="Checkout down")
        LessonFactory(
            incident=incident, text="Latency < 5 ms & the <script>alert(1)</script> zeppelin."
        )
        build_documents()
        html = reader.get(reverse(LIST), {"q": "zeppelin"}).content.decode()
        snippet = search_html(r'<p class="snippet">(.*?)</p>', html).group(1)
        assert "<mark>zeppelin</mark>" in snippet
        assert "Latency &lt; 5 ms &amp; the" in snippet
        # What looks like a tag is markup, not words: left out of the snippet, never run.
        assert "<script>" not in html.split("<main", 1)[1]

    def test_a_highlight_cannot_be_forged_by_what_was_typed(self, api):
        LessonFactory(
            incident=IncidentFactory(number=1), text=f"A {search.START}fake{search.STOP} zeppelin"
        )
        build_documents()
        row = api.get(f"{API}/incidents", {"q": "zeppelin"}).json()["results"][0]
        marked = [row["search"]["snippet"][a:b] for a, b in row["search"]["highlights"]]
        assert marked == ["zeppelin"]

    def test_the_api_gives_rank_snippet_and_highlight_offsets_when_searched_and_null_otherwise(
        self, api
    ):
        incident = IncidentFactory(number=1, title="Checkout down")
        LessonFactory(incident=incident, text="The *zeppelin* alarm never fired.")
        build_documents()
        row = api.get(f"{API}/incidents", {"q": "Zeppelin"}).json()["results"][0]
        assert row["search"]["rank"] > 0
        assert "zeppelin alarm never fired" in row["search"]["snippet"]
        assert [row["search"]["snippet"][a:b] for a, b in row["search"]["highlights"]] == [
            "zeppelin"
        ]
        assert api.get(f"{API}/incidents").json()["results"][0]["search"] is None
        assert "search" not in api.get(f"{API}/incidents/INC-1").json()

    def test_the_schema_names_the_search_fields_of_a_listed_incident_only(self):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        components = schema["components"]["schemas"]
        assert set(components["SearchMatch"]["properties"]) == {"rank", "snippet", "highlights"}
        assert "search" in components["IncidentList"]["properties"]
        assert "search" not in components["IncidentDetail"]["properties"]


class TestFallback:
    """The SQLite search, run here on PostgreSQL: icontains over the same stored text."""

    def test_every_word_must_appear_somewhere_in_any_case(self):
        incident = IncidentFactory(title="Deploy broke the site")
        CauseFactory(incident=incident, title="Missing WORKER file")
        IncidentFactory(title="Deploy went fine")
        build_documents()
        found = search.plain_search(Incident.objects.all(), "deploy work")
        assert [i.title for i in found] == ["Deploy broke the site"]

    def test_a_match_in_the_title_ranks_first(self):
        older = IncidentFactory(title="Zeppelin outage", started_at=T0)
        newer = IncidentFactory(title="Other", started_at=T0 + timedelta(days=1))
        LessonFactory(incident=newer, text="zeppelin")
        build_documents()
        assert list(search.plain_search(Incident.objects.all(), "zeppelin")) == [older, newer]

    def test_the_snippet_is_cut_around_the_first_match_with_every_word_marked(self):
        long = " ".join(f"word{i}" for i in range(100))
        LessonFactory(
            incident=IncidentFactory(title="Other"), text=f"{long} Zeppelin fell, zeppelin {long}"
        )
        build_documents()
        row = search.plain_search(Incident.objects.all(), '"zeppelin"').get()
        found = search.snippets([row.pk], '"zeppelin"', full=False)[row.pk]
        assert found.text.startswith("… ")
        assert found.text.endswith(" …")
        assert "Zeppelin fell, zeppelin" in found.text
        assert len(found.text) < 2 * search.SNIPPET_REACH + 40
        assert [found.text[a:b] for a, b in found.highlights] == ["Zeppelin", "zeppelin"]


class TestKeptCurrent:
    def test_a_change_asks_for_one_refresh_until_it_has_run(self):
        incident = IncidentFactory()
        refreshes = OutboxMessage.objects.filter(task=search_services.REFRESH_TASK)
        assert search_services.search_document_mark_stale(incident_id=incident.pk)
        assert not search_services.search_document_mark_stale(incident_id=incident.pk)
        assert refreshes.count() == 1
        assert search_services.search_document_refresh(incident_id=incident.pk)
        # Run twice (acks_late), the second finds nothing to do.
        assert not search_services.search_document_refresh(incident_id=incident.pk)
        assert search_services.search_document_mark_stale(incident_id=incident.pk)
        assert refreshes.count() == 2

    def test_a_refresh_asked_for_long_ago_and_never_run_is_asked_for_again(self):
        incident = IncidentFactory()
        search_services.search_document_mark_stale(incident_id=incident.pk)
        SearchDocument.objects.filter(pk=incident.pk).update(
            stale_since=timezone.now() - search_services.STALE_RETRY - timedelta(seconds=1)
        )
        assert search_services.search_document_mark_stale(incident_id=incident.pk)

    def test_every_change_marked_for_the_live_page_asks_for_a_refresh(
        self, django_capture_on_commit_callbacks
    ):
        incident = IncidentFactory()
        with django_capture_on_commit_callbacks(execute=True):
            live_mark_bump(incident=incident, parts=["section-lessons"], user=None)
        assert SearchDocument.objects.get(pk=incident.pk).stale_since is not None
        assert OutboxMessage.objects.filter(
            task=search_services.REFRESH_TASK, kwargs={"incident_id": incident.pk}
        ).exists()

    def test_a_deleted_incident_asks_for_nothing(self):
        incident = IncidentFactory()
        pk = incident.pk
        incident.delete()
        assert not search_services.search_document_mark_stale(incident_id=pk)
        assert not search_services.search_document_refresh(incident_id=pk)


def eventually(check: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
class TestThroughTheWorker:
    def found(self, words: str) -> list[int]:
        return [i.pk for i in search.incident_search(Incident.objects.all(), words)]

    def test_an_edited_lesson_is_found_by_its_new_words_and_not_its_old(self, celery_worker):
        incident = services.incident_create(
            service=ServiceFactory(), title="Checkout down", started_at=T0
        )
        lesson = services.part_save(
            row=Lesson(incident=incident, kind=Lesson.Kind.WENT_WRONG, text="The zeppelin lag."),
            user=None,
        )
        assert eventually(lambda: self.found("zeppelin") == [incident.pk])
        lesson.text = "The blimp lag."
        services.part_save(row=lesson, user=None, fields=["text"])
        assert eventually(lambda: self.found("blimp") == [incident.pk])
        assert self.found("zeppelin") == []

    def test_a_deleted_timeline_line_stops_matching(self, celery_worker):
        incident = services.incident_create(
            service=ServiceFactory(), title="Checkout down", started_at=T0
        )
        event = services.timeline_event_add(
            incident=incident, occurred_at=T0, text="Paged the zeppelin team."
        )
        assert eventually(lambda: self.found("zeppelin") == [incident.pk])
        services.part_delete(row=event, user=None)
        assert eventually(lambda: self.found("zeppelin") == [])
        assert self.found("checkout") == [incident.pk]


class TestQueryBudget:
    def test_a_search_page_costs_the_same_for_1_and_50_matches(self, client):
        client.force_login(user_with_role(Role.EDITOR))
        service = ServiceFactory(slug="svc")
        counts = []
        for total in (1, 50):
            while service.incidents.count() < total:
                incident = IncidentFactory(service=service)
                CauseFactory(incident=incident, title="zeppelin cause")
                ActionItemFactory(incident=incident, title="zeppelin fix")
            build_documents()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(reverse(LIST), {"q": "zeppelin", "service": "svc"})
            assert response.status_code == 200
            assert len(response.context["page"].object_list) == min(total, 25)
            assert "<mark>zeppelin</mark>" in response.content.decode()
            counts.append(len(ctx.captured_queries))
        # session, user, permissions (2), service slug, count, rows, snippets, service choices.
        assert counts == [9, 9], counts

    def test_a_searched_api_list_costs_the_same_for_1_and_50_matches(self, api):
        IncidentFactory(title="zeppelin")
        build_documents()
        api.get(f"{API}/incidents")  # the token's first use is marked once; not part of the budget
        with CaptureQueriesContext(connection) as one:
            assert api.get(f"{API}/incidents", {"q": "zeppelin"}).status_code == 200
        IncidentFactory.create_batch(49, title="zeppelin")
        build_documents()
        with CaptureQueriesContext(connection) as fifty:
            response = api.get(f"{API}/incidents", {"q": "zeppelin"})
        assert response.json()["count"] == 50
        # token, user permissions, group permissions, count, page, the page's labels and
        # external references (2), snippets
        assert len(one) == len(fifty) == 8, [q["sql"] for q in fifty.captured_queries]
