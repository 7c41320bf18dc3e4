"""Each public incident's own page on the status page, the history pages, the public post-mortem
(drafted from its template, approved, published, withdrawn) and a status page that stays small
however many incidents there were."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from deployments.models import Service
from incidents.communications import services
from incidents.communications.defaults import PUBLIC_POSTMORTEM_SLUG, default_templates_ensure
from incidents.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    Incident,
    Phase,
)
from incidents.statuspage.page import HISTORY_PER_PAGE, PAST_SHOWN, public_documents_mark_stale
from outbox.models import OutboxMessage
from tests.factories import IncidentFactory, ServiceFactory, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BASE = "https://status.example.test"
Status = Communication.Status


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def links_on_a_base_url(settings):
    settings.HINDSIGHT_BASE_URL = BASE


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs what a write does after commit (dropping cached pages) inside a test's transaction."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def editor():
    return user_with_role("editor")


def resolved(*, days_ago: float = 1, **fields) -> Incident:
    started = NOW - timedelta(days=days_ago)
    return IncidentFactory(
        started_at=started,
        resolved_at=started + timedelta(minutes=16),
        status=Incident.Status.RESOLVED,
        **fields,
    )


def published(incident: Incident, subject: str, *, at: datetime, **fields) -> Communication:
    """A status page update published through the workflow (which also makes it public)."""
    row = Communication.objects.create(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        phase=fields.pop("phase", Phase.IDENTIFIED),
        subject=subject,
        status=Status.APPROVED,
        approved_at=at,
        **fields,
    )
    row.render_markdown()
    row.save()
    with time_machine.travel(at, tick=False):
        return services.communication_send(communication=row, user=None)


def incident_url(incident: Incident) -> str:
    return f"/status/incidents/{incident.reference}/"


def get(url: str, client: Client | None = None, status: int = 200) -> str:
    response = (client or Client()).get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def postmortem_draft(incident: Incident, editor) -> Communication:
    default_templates_ensure()
    template = CommunicationTemplate.objects.get(slug=PUBLIC_POSTMORTEM_SLUG)
    return services.communication_generate(incident=incident, template=template, user=editor)


def postmortem_publish(incident: Incident, editor, *, words: str) -> Communication:
    draft = postmortem_draft(incident, editor)
    body = re.sub(r"\[\[.*?\]\]", words, draft.body, flags=re.S)
    draft = services.communication_update(
        communication=draft, subject=draft.subject, body=body, user=editor
    )
    services.communication_approve(communication=draft, user=editor)
    return services.communication_send(communication=draft, user=editor)


# --- the incident's own page -----------------------------------------------------------------


def test_the_page_shows_published_updates_newest_first_and_no_drafts_without_a_login():
    incident = resolved(title="Internal codename BLUEFIN")
    published(incident, "We are looking into it", at=NOW - timedelta(days=1))
    published(
        incident, "All fixed", at=NOW - timedelta(hours=20), phase=Phase.RESOLVED, body="Done."
    )
    Communication.objects.create(
        incident=incident, audience=Audience.STATUS_PAGE, subject="Unsent draft words"
    )

    html = get(incident_url(incident))
    updates = html.split('<ol class="updates"')[1]
    assert updates.index("All fixed") < updates.index("We are looking into it")
    assert "<h1>We are looking into it</h1>" in html  # headed by its first public words
    assert "Unsent draft words" not in html
    assert "BLUEFIN" not in html


@pytest.mark.parametrize("kind", ["internal", "duplicate", "missing", "not a reference"])
def test_an_incident_that_is_not_public_has_no_page(kind):
    original = resolved()
    published(original, "Original's update", at=NOW - timedelta(hours=20))
    if kind == "internal":
        url = incident_url(resolved())
    elif kind == "duplicate":
        duplicate = resolved(duplicate_of=original, public_since=NOW - timedelta(days=1))
        url = incident_url(duplicate)
    elif kind == "missing":
        url = "/status/incidents/INC-99999/"
    else:
        url = "/status/incidents/hello/"
    get(url, status=404)
    get(url, status=404)  # and again, from the cached answer
    get(incident_url(original))


def test_a_withdrawn_update_shows_as_withdrawn_without_its_text(editor, committed):
    incident = resolved(public_since=NOW - timedelta(days=2), public_marked=True)
    wrong = published(incident, "Blamed the wrong vendor", at=NOW - timedelta(days=1), body="Nope")
    published(incident, "Back to normal", at=NOW - timedelta(hours=20))
    get(incident_url(incident))  # cached now: the withdrawal must drop it

    with committed(execute=True):
        services.communication_retract(communication=wrong, user=editor, reason="Not the vendor")

    html = get(incident_url(incident))
    item = html.split(f'id="update-{wrong.pk}"')[1].split("</li>")[0]
    assert "Withdrawn" in item
    assert "<s>Blamed the wrong vendor</s>" in item
    assert "Nope" not in html
    assert "Not the vendor" not in html  # the reason is for the record, not the public


def test_the_page_is_kept_the_same_for_everyone_and_answers_304(django_assert_num_queries):
    incident = resolved()
    published(incident, "Update", at=NOW - timedelta(hours=20))
    first = Client().get(incident_url(incident))
    with django_assert_num_queries(1):  # its kept row
        second = Client().get(incident_url(incident))
    assert first.content == second.content
    assert "Set-Cookie" not in second.headers
    again = Client().get(incident_url(incident), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize("rows", [1, 50])
def test_the_incident_page_is_built_in_one_query_then_read_from_its_kept_row(
    django_assert_num_queries, rows
):
    incident = resolved(days_ago=3)
    for i in range(rows):
        published(incident, f"Update {i}", at=NOW - timedelta(days=2, minutes=-i))
    # The kept row looked for (by the middleware, then by the view), the incident with its
    # updates, the row stored.
    with django_assert_num_queries(2 + 1 + 1):
        html = get(incident_url(incident))
    assert html.count('<li id="update-') == rows
    with django_assert_num_queries(1):
        get(incident_url(incident))


# --- the public post-mortem ------------------------------------------------------------------


def test_the_postmortem_template_states_public_facts_and_leaves_the_story_to_the_editor(editor):
    incident = resolved(
        title="Codename BLUEFIN", summary="Bob's migration locked the orders table."
    )
    draft = postmortem_draft(incident, editor)
    assert draft.audience == Audience.PUBLIC_POSTMORTEM
    assert "for about 16 minutes" in draft.body
    assert "[[" in draft.body
    for secret in ("BLUEFIN", "Bob", "orders table", incident.reference):
        assert secret not in draft.subject + draft.body


def test_a_postmortem_with_a_prompt_left_cannot_be_approved(editor):
    draft = postmortem_draft(resolved(), editor)
    with pytest.raises(services.CommunicationStateError, match="left open"):
        services.communication_approve(communication=draft, user=editor)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_drafted_approved_and_published_the_postmortem_is_on_the_incident_page(editor, committed):
    incident = resolved()
    published(incident, "Investigating", at=NOW - timedelta(days=1))
    before = get(incident_url(incident))  # cached: publishing must drop it
    assert 'id="postmortem"' not in before

    with committed(execute=True):
        postmortem = postmortem_publish(incident, editor, words="A certificate expired.")

    assert postmortem.status == Status.SENT
    html = get(incident_url(incident))
    section = html.split('id="postmortem"')[1]
    assert "A certificate expired." in section
    assert postmortem.subject in section
    # Read on the page, not pushed: no mail or webhook goes out for it.
    assert not OutboxMessage.objects.filter(kwargs__communication_id=postmortem.pk).exists()
    assert "Updates and post-mortem" in get("/status/")


def test_publishing_a_postmortem_makes_an_internal_incident_public_and_withdrawing_undoes_it(
    editor, committed
):
    incident = resolved()
    get(incident_url(incident), status=404)  # the 404 is cached: publishing must drop it
    with committed(execute=True):
        postmortem = postmortem_publish(incident, editor, words="A certificate expired.")
    assert "A certificate expired." in get(incident_url(incident))

    with committed(execute=True):
        services.communication_retract(communication=postmortem, user=editor, reason="Wrong")
    incident.refresh_from_db()
    assert incident.public_since is None
    get(incident_url(incident), status=404)


def test_a_withdrawn_postmortem_leaves_the_page_with_a_note(editor):
    incident = resolved(public_since=NOW - timedelta(days=1), public_marked=True)
    postmortem = postmortem_publish(incident, editor, words="A certificate expired.")
    services.communication_retract(communication=postmortem, user=editor, reason="Wrong cause")
    html = get(incident_url(incident))
    assert "A certificate expired." not in html
    assert "was withdrawn" in html


def test_the_postmortem_buttons_need_an_editor(client, editor):
    incident = resolved()
    default_templates_ensure()
    generate = reverse("incidents:communication_generate", args=[incident.reference])
    data = {"template": PUBLIC_POSTMORTEM_SLUG}

    anonymous = client.post(generate, data)
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    client.force_login(user_with_role("viewer"))
    assert client.post(generate, data).status_code == 403
    assert not Communication.objects.exists()

    client.force_login(editor)
    client.post(generate, data)
    draft = Communication.objects.get()
    assert draft.audience == Audience.PUBLIC_POSTMORTEM
    detail = get(reverse("incidents:detail", args=[incident.reference]), client)
    assert "Draft the public post-mortem" in detail

    client.post(
        reverse("incidents:communication_edit", args=[incident.reference, draft.pk]),
        {
            "subject": draft.subject,
            "body": "## What happened\n\nA certificate expired.",
            "expected": draft.updated_at.isoformat(),
        },
    )
    for step in ("communication_approve", "communication_send"):
        client.post(reverse(f"incidents:{step}", args=[incident.reference, draft.pk]))
    draft.refresh_from_db()
    assert draft.status == Status.SENT
    assert "A certificate expired." in get(incident_url(incident), Client())


# --- links from the status page and the feeds -----------------------------------------------


def test_past_and_current_incidents_on_the_status_page_link_to_their_pages():
    past = resolved(days_ago=2)
    published(past, "It was down", at=NOW - timedelta(days=2))
    current = IncidentFactory(started_at=NOW - timedelta(hours=1))
    published(current, "It is down", at=NOW - timedelta(minutes=30))

    html = get("/status/")
    section = html.split('id="past-incidents"')[1]
    assert f'<a href="{incident_url(past)}">It was down</a>' in section
    assert f'href="{incident_url(current)}"' in html.split('id="active-incidents"')[1]
    assert 'href="/status/history/"' in html


def test_feed_entries_link_to_the_incident_page_on_the_base_url(editor):
    incident = resolved()
    update = published(incident, "It was down", at=NOW - timedelta(days=1))
    postmortem_publish(incident, editor, words="A certificate expired.")
    page_url = f"{BASE}{incident_url(incident)}"
    for feed in ("/status/feed.atom", "/status/feed.rss"):
        xml = get(feed)
        assert f"{page_url}#update-{update.pk}" in xml, feed
        assert f"{page_url}#postmortem" in xml, feed
        assert "Post-mortem: " in xml


# --- history and size ------------------------------------------------------------------------


def _many(count: int, *, service: Service | None = None) -> None:
    """`count` public resolved incidents, one an hour back from an hour ago, written at once."""
    service = service or ServiceFactory()
    start = 10_000 + Incident.objects.count()
    Incident.objects.bulk_create(
        Incident(
            number=start + i,
            service=service,
            title=f"Outage {i}",
            started_at=NOW - timedelta(hours=i + 1),
            resolved_at=NOW - timedelta(hours=i + 1) + timedelta(minutes=10),
            status=Incident.Status.RESOLVED,
            status_line=f"Public line {i}",
            public_since=NOW - timedelta(hours=i + 1),
        )
        for i in range(count)
    )


def test_the_history_pages_list_every_public_incident_newest_first():
    _many(HISTORY_PER_PAGE + 5)
    resolved(days_ago=0.01)  # internal: on no page
    first = get("/status/history/")
    assert first.count('class="history-entry"') == HISTORY_PER_PAGE
    assert "Page 1 of 2" in first
    assert "Outage" not in first  # the incidents' titles are internal
    assert "Disruption to" in first
    second = get("/status/history/?page=2")
    assert second.count('class="history-entry"') == 5
    assert "Page 2 of 2" in second
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second
    # _many numbers them from the newest back.
    numbers = [int(n) for n in re.findall(r'id="incident-(\d+)"', first + second)]
    assert numbers == sorted(numbers)
    assert len(numbers) == HISTORY_PER_PAGE + 5
    assert get("/status/history/?page=99").count('class="history-entry"') == 5
    assert get("/status/history/?page=x").count('class="history-entry"') == HISTORY_PER_PAGE


@pytest.mark.parametrize("rows", [1, 50])
def test_a_history_page_takes_two_queries(django_assert_num_queries, rows):
    _many(rows)
    with django_assert_num_queries(2):  # the count and the page
        html = get(f"/status/history/?page={2 if rows > HISTORY_PER_PAGE else 1}")
    assert html.count('class="history-entry"') == min(rows, HISTORY_PER_PAGE)


def test_the_status_page_does_not_grow_with_the_history():
    service = ServiceFactory()
    _many(PAST_SHOWN + 2, service=service)
    few = len(Client().get("/status/").content)
    Incident.objects.all().delete()
    _many(300, service=service)
    public_documents_mark_stale()
    html = get("/status/")
    assert html.count('class="incident brief resolved"') == PAST_SHOWN
    # The numbers in the links are longer; nothing else may grow.
    assert abs(len(html.encode()) - few) < 200, (few, len(html.encode()))
    assert len(html.encode()) < 150_000
