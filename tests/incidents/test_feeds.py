"""Atom and RSS feeds of the status page: well-formed, public only, and inert whatever was typed."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client

from incidents.models import Audience, Communication, Incident, Phase
from incidents.statuspage.page import public_documents_mark_stale
from tests.factories import CauseFactory, IncidentFactory, TimelineEventFactory
from tests.incidents.test_status_page import (
    NOW,
    XSS,
    clock,  # noqa: F401  (fixture)
    communication,
    resolved_incident,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

ATOM = "/status/feed.atom"
RSS = "/status/feed.rss"
NS = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def incidents():
    active = IncidentFactory(
        started_at=NOW - timedelta(hours=1),
        status=Incident.Status.INVESTIGATING,
        title="SECRET-TITLE",
        impact="Checkout fails for some people.",
        status_line="Investigating checkout errors",
    )
    active.render_markdown()
    active.save()
    CauseFactory(incident=active, detail="SECRET-CAUSE")
    TimelineEventFactory(incident=active, text="SECRET-TIMELINE")
    communication(
        active,
        "Looking into checkout errors",
        at=NOW - timedelta(minutes=40),
        phase=Phase.INVESTIGATING,
    )
    communication(
        active, "SECRET-DRAFT", at=NOW, status=Communication.Status.DRAFT, body="SECRET-DRAFT-BODY"
    )
    communication(active, "SECRET-INTERNAL", at=NOW, audience=Audience.INTERNAL)
    past = resolved_incident(days_ago=5, published=True, summary="What we learned, in short.")
    assert past.resolved_at is not None
    communication(past, "All good again", at=past.resolved_at, phase=Phase.RESOLVED)
    return active, past


def get(url: str) -> bytes:
    response = Client().get(url)
    assert response.status_code == 200
    return response.content


def test_the_atom_feed_lists_incidents_and_published_updates_newest_first(incidents):
    active, _ = incidents
    response = Client().get(ATOM)
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall("atom:entry", NS)
    titles = [entry.findtext("atom:title", namespaces=NS) for entry in entries]
    assert titles == [
        "Investigating: Looking into checkout errors",  # the update, 40 minutes ago
        "Investigating: Looking into checkout errors",  # the incident, headed by it, 1 hour ago
        "Resolved: All good again",
        "Resolved: All good again",
    ]
    ids = [entry.findtext("atom:id", namespaces=NS) for entry in entries]
    assert len(set(ids)) == 4
    assert f"http://127.0.0.1:8000/status/#incident-{active.number}" in ids
    summaries = " ".join(entry.findtext("atom:summary", namespaces=NS) or "" for entry in entries)
    assert "<p>Checkout fails for some people.</p>" in summaries
    assert "What we learned, in short." in summaries  # the published post-mortem's summary


def test_the_rss_feed_is_valid_and_carries_the_same_items(incidents):
    root = ET.fromstring(get(RSS))
    items = root.findall("./channel/item")
    assert len(items) == 4
    assert root.findtext("./channel/link") == "http://127.0.0.1:8000/status/"
    for item in items:
        assert item.findtext("pubDate")
        assert item.findtext("guid")


@pytest.mark.parametrize("url", [ATOM, RSS])
def test_nothing_internal_reaches_a_feed(incidents, url):
    body = get(url).decode()
    assert "SECRET" not in body


@pytest.mark.parametrize("url", [ATOM, RSS])
def test_markdown_xss_in_an_update_is_inert_in_the_feed(url):
    incident = IncidentFactory(started_at=NOW - timedelta(hours=1))
    communication(incident, "<script>alert('subject')</script>", at=NOW, body=XSS)
    body = get(url).decode()
    # The XML carries the HTML escaped once; what a reader renders is that HTML.
    assert "<script" not in body.lower()
    rendered = html.unescape(body).lower()
    assert "<script>alert('owned')" not in rendered
    assert "javascript:" not in rendered
    assert re.search(r"<[^>]+\son\w+=", rendered) is None
    # Titles are escaped like Django's default, since some RSS readers take them as HTML.
    assert "&lt;script&gt;" in html.unescape(body)


@pytest.mark.parametrize("url", [ATOM, RSS])
def test_control_characters_in_an_update_leave_the_feed_well_formed(url):
    incident = IncidentFactory(started_at=NOW - timedelta(hours=1))
    communication(incident, "Checkout\x0b errors\x01", at=NOW, body="Still\x08 <b>slow</b>\x1f")
    root = ET.fromstring(get(url))
    text = ET.tostring(root, encoding="unicode")
    assert "Checkout errors" in text
    assert "Still &lt;b&gt;slow&lt;/b&gt;" in text or "Still <b>slow</b>" in text


def test_a_feed_is_built_in_two_queries_then_read_from_its_kept_row(
    incidents, django_assert_num_queries
):
    # The public incidents with their updates, and the withdrawn updates of internal ones;
    # around them the kept row looked for, then stored.
    with django_assert_num_queries(1 + 2 + 1):
        get(ATOM)
    with django_assert_num_queries(1):
        get(ATOM)
    active, _ = incidents
    communication(active, "Fresh words", at=NOW)
    assert b"Fresh words" not in get(ATOM)
    public_documents_mark_stale()  # what a publish or a maintenance write does, in its transaction
    assert b"Fresh words" in get(ATOM)


@pytest.mark.parametrize("url", [ATOM, RSS])
def test_every_link_in_a_feed_is_on_the_configured_public_url(incidents, settings, url):
    settings.HINDSIGHT_BASE_URL = "https://status.example.test"
    body = get(url).decode()
    links = re.findall(r'(?:href="|<link>|<guid[^>]*>|<id>)([^"<]+)', body)
    assert len(links) >= 8  # the feed itself, its page, and each entry's link and id
    assert [link for link in links if not link.startswith("https://status.example.test/")] == []
    # Never the address the request came in on.
    assert "testserver" not in body
    assert "127.0.0.1" not in body


def test_an_empty_feed_is_still_a_feed():
    root = ET.fromstring(get(ATOM))
    assert root.findall("atom:entry", NS) == []


class TestWithdrawnUpdates:
    """A published update that said something wrong is withdrawn: gone from the page, said so
    in the feeds, kept on the record with who and why."""

    def _withdraw(self, incidents):
        from incidents.communications.services import communication_retract
        from tests.factories import user_with_role

        active, _past = incidents
        update = Communication.objects.get(subject="Looking into checkout errors")
        editor = user_with_role("editor")
        communication_retract(
            communication=update, user=editor, reason="It named the wrong service."
        )
        public_documents_mark_stale()
        return active, update, editor

    def test_it_leaves_the_page_and_the_feeds_say_it_was_withdrawn(self, incidents):
        self._withdraw(incidents)

        assert b"Looking into checkout errors" not in get("/status/")
        titles = [
            e.findtext("atom:title", namespaces=NS)
            for e in ET.fromstring(get(ATOM)).findall("atom:entry", NS)
        ]
        assert "Withdrawn: Looking into checkout errors" in titles
        assert "Investigating: Looking into checkout errors" not in titles
        # The reason is for the record, not for the public.
        assert b"wrong service" not in get(ATOM)

    def test_once_its_incident_is_internal_the_notice_says_nothing_else_of_it(self, incidents):
        active, update, _editor = self._withdraw(incidents)  # its only update: now internal
        active.refresh_from_db()
        assert active.public_since is None

        entries = ET.fromstring(get(ATOM)).findall("atom:entry", NS)
        notice = next(
            e
            for e in entries
            if (e.findtext("atom:title", namespaces=NS) or "").startswith("Withdrawn")
        )
        link = notice.find("atom:link", NS)
        assert link is not None
        assert link.get("href") == "http://127.0.0.1:8000/status/"  # no anchor: it is gone
        guid = notice.findtext("atom:id", namespaces=NS) or ""
        assert guid.endswith(f"#update-{update.pk}-withdrawn")
        body = get(ATOM).decode()
        assert f"incident-{active.number}" not in body
        assert "Investigating checkout errors" not in body  # its status line
        assert "Checkout fails for some people" not in body  # its impact

    def test_the_record_keeps_who_and_why_and_the_timeline_says_so(self, incidents):
        active, update, editor = self._withdraw(incidents)

        update.refresh_from_db()
        assert (update.retracted_by, update.retraction_reason) == (
            editor,
            "It named the wrong service.",
        )
        assert update.history.first().retracted_at == update.retracted_at
        assert active.timeline_events.filter(text__contains="withdrawn by").exists()

    def test_only_a_published_status_page_update_can_be_withdrawn(self, incidents):
        from incidents.communications.services import (
            CommunicationStateError,
            communication_retract,
        )

        draft = Communication.objects.get(subject="SECRET-DRAFT")
        with pytest.raises(CommunicationStateError):
            communication_retract(communication=draft, user=None, reason="No.")

    def test_a_reason_is_required(self, incidents):
        from django.core.exceptions import ValidationError

        from incidents.communications.services import communication_retract

        update = Communication.objects.get(subject="Looking into checkout errors")
        with pytest.raises(ValidationError):
            communication_retract(communication=update, user=None, reason="  ")
        update.refresh_from_db()
        assert update.retracted_at is None

    def test_a_published_correction_is_flagged_beside_the_update_it_corrects(self, incidents):
        active, _past = incidents
        update = Communication.objects.get(subject="Looking into checkout errors")
        communication(active, "Checkout errors: correction", at=NOW, corrects=update)
        public_documents_mark_stale()

        page = get("/status/").decode()
        assert "A correction of this update follows." in page
