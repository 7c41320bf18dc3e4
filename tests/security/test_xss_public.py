"""The XSS corpus on what the public and subscribers see: the status pages, the feeds, the
badges and the emails (and the messages page they are drafted from). How the corpus is written
and checked: test_xss.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from incidents.communications.messages import email_message, maintenance_email_message
from incidents.communications.services import (
    communication_generate,
)
from incidents.models import (
    CommunicationTemplate,
    Component,
)
from incidents.statuspage.services import subscriber_signup
from tests.security.inert import fragment_dangers
from tests.security.payloads import PAYLOADS, marker
from tests.security.xss_world import (
    EVERY,
    check,
    get,
)

NS = {"atom": "http://www.w3.org/2005/Atom"}

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def test_the_public_status_pages_are_inert(public):
    update, _maintenance = public
    reference = update.incident.reference
    anonymous = Client()
    found = []
    for url, markers in {
        "/status/": range(0, len(PAYLOADS), 8),
        f"/status/incidents/{reference}/": EVERY,
        "/status/history/": None,
        "/status/subscribe/": None,
    }.items():
        found += check(get(anonymous, url), url, markers=markers)
    assert found == []


def test_the_feeds_are_well_formed_and_their_html_is_inert(public):
    anonymous = Client()
    found = []
    atom = ET.fromstring(get(anonymous, "/status/feed.atom"))
    entries = atom.findall("atom:entry", NS)
    assert entries
    for entry in entries:
        for part in ("atom:content", "atom:summary"):
            for element in entry.findall(part, NS):
                found += fragment_dangers(element.text or "", f"atom {part}")
    rss = ET.fromstring(get(anonymous, "/status/feed.rss"))
    items = rss.findall("./channel/item")
    assert items
    for item in items:
        found += fragment_dangers(item.findtext("description") or "", "rss description")
    feeds_text = "".join(ET.tostring(root, encoding="unicode") for root in (atom, rss))
    assert marker(0) in feeds_text or marker(4) in feeds_text
    assert found == []


def test_the_emails_html_parts_are_inert(public):
    update, maintenance = public
    subscriber = subscriber_signup(email="reader@example.test")
    messages = {
        "update email": email_message(communication=update, subscriber=subscriber, delivery_id=1),
        "maintenance email": maintenance_email_message(
            maintenance=maintenance, notice="scheduled", subscriber=subscriber, delivery_id=2
        ),
    }
    found = []
    for where, message in messages.items():
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html"
        found += check(str(html), where, markers=range(10))
    assert found == []


def test_the_messages_page_and_the_generated_drafts_are_inert(world, public):
    update, _ = public
    reference = update.incident.reference
    for slug in ("internal-summary", "executive-summary", "status-resolved"):
        template = CommunicationTemplate.objects.get(slug=slug)
        communication_generate(incident=update.incident, template=template, user=None)
    url = f"/incidents/{reference}/communications/"
    found = check(get(world.editor_client, url), url, markers=range(10))
    for communication in update.incident.communications.all():
        found += fragment_dangers(communication.body_html, f"message {communication.pk}")
    assert found == []


def test_the_component_badges_are_inert_svg(public):
    anonymous = Client()
    found = []
    for component in Component.objects.all():
        url = f"/status/components/{component.pk}/badge.svg"
        response = anonymous.get(url)
        assert response.status_code == 200, url
        svg = ET.fromstring(response.content)
        for element in svg.iter():
            tag = str(element.tag).rsplit("}", 1)[-1]
            if tag in ("script", "foreignObject"):
                found.append(f"{url}: a <{tag}> element")
            found += [f"{url}: {name}" for name in element.attrib if name[:2].lower() == "on"]
    assert found == []
