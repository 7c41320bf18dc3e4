"""The XSS corpus (payloads.py) written into every place user text is shown, each output parsed
as a browser would (inert.py): no script elements, no event handler attributes, no dangerous URLs.

Many payloads go into one request: a whole post-mortem holds every payload in every section, a
message body holds them all, and each page is fetched once. Every page must also show the
payloads' markers, so a page that silently left the text out cannot pass for one that is safe.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from incidents.attachments.services import attachment_upload
from incidents.communications.defaults import default_templates_ensure
from incidents.communications.messages import email_message, maintenance_email_message
from incidents.communications.services import (
    communication_approve,
    communication_generate,
    communication_send,
    communication_update,
    webhook_endpoint_save,
)
from incidents.documents.services import postmortem_import
from incidents.models import (
    Communication,
    CommunicationTemplate,
    Component,
    Incident,
    WebhookEndpoint,
)
from incidents.postmortem.services.incident import incident_update
from incidents.postmortem.services.references import (
    Reference,
    incident_labels_set,
    incident_references_set,
)
from incidents.statuspage.services import component_save, maintenance_create, subscriber_signup
from tests.factories import (
    ChangeFactory,
    DeploymentFactory,
    EnvironmentFactory,
    ServiceFactory,
    user_with_role,
)
from tests.security.inert import dangers, fragment_dangers
from tests.security.payloads import MARKDOWN_PAYLOADS, PAYLOADS, all_marked, marked, marker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

# Sections of an imported post-mortem, each given every payload as rows of its own.
SECTIONS = {
    "Timeline": lambda n, text: f"- 06:{n % 60:02d} {text}",
    "Current Status": lambda n, text: f"- ✅ **Check {n}:** {text}",
    "Root Cause Analysis\n\n### Contributing Factors": lambda n, text: (
        f"- **Factor {n}** {text}\n  - {text}"
    ),
    "Lessons Learned\n\n### What Went Wrong": lambda n, text: f"- {text}",
    "Action Items\n\n### This Week": lambda n, text: f"- [ ] {text} @owner\n  - [x] {text}",
    "Success Criteria": lambda n, text: f"- [ ] {text}",
    "Final Notes\n\n### Moving Forward": lambda n, text: f"- {text}",
}


# Each section takes its own share of the corpus (the rows of every section go through the same
# renderer; what differs is the page's markup around them), the summary all of it.
SHARE = -(-len(PAYLOADS) // len(SECTIONS))


def _share(section: int) -> list[tuple[int, str]]:
    return list(enumerate(all_marked()))[section * SHARE : (section + 1) * SHARE]


def document(day: str = "2026-01-02") -> str:
    lines = [
        "# " + marked(0, "<script>alert(1)</script> import"),
        "",
        f"**Incident Date:** {day} 06:00 - 07:00 UTC",
        "**Status:** RESOLVED - back online",
        "",
        "## Incident Summary",
        "",
        "### What Happened:",
        "",
    ]
    lines += [f"{n + 1}. {text}" for n, text in enumerate(all_marked())]
    for section, (heading, row) in enumerate(SECTIONS.items()):
        lines += ["", f"## {heading}", ""]
        lines += [row(n, text) for n, text in _share(section)]
    lines += ["", "## Path Forward", ""]
    for n, text in enumerate(all_marked()[:5]):
        lines += [f"### Priority {n + 1}: {text}", "", f"**A) {text} (1 hour)**", ""]
    lines += ["", "## Communication", "", "### Internal", "", "```", f"Subject: {PAYLOADS[0]}"]
    lines += ["", *all_marked()[:10], "```"]
    return "\n".join(lines)


@dataclass
class World:
    incident: Incident
    editor_client: Client
    editor: User


def check(html: str | bytes, where: str, *, markers: range | None = None) -> list[str]:
    """What is wrong with a page: whatever could run, and payload markers missing from it."""
    text = html.decode() if isinstance(html, bytes) else html
    found = dangers(text, where)
    for n in markers or ():
        if marker(n) not in text:
            found.append(f"{where}: the text of payload {n} is missing")
    return found


EVERY = range(len(PAYLOADS))


@pytest.fixture
def world(client) -> World:
    service = ServiceFactory(slug="shop", name=marked(1, "<svg onload=alert(1)>")[:100])
    editor = user_with_role("editor")
    incident = postmortem_import(data=document(), user=editor, service_slug=service.slug).incident
    client.force_login(editor)
    return World(incident, client, editor)


def get(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content


def test_an_imported_postmortem_with_every_payload_in_every_section_is_inert(world):
    url = f"/incidents/{world.incident.reference}/"
    assert check(get(world.editor_client, url), url, markers=EVERY) == []


PROSE = "\n\n".join([*MARKDOWN_PAYLOADS, *all_marked()])
TITLE_PAYLOADS = [n for n, p in enumerate(PAYLOADS) if len(marked(n, p)) <= 200]


def _prose_everywhere(world: World) -> Incident:
    """Every payload in every prose field and the one-line fields, written by the service the
    page and the API share; labels and references that pass validation, and attachments."""
    incident = world.incident
    incident.refresh_from_db()
    incident = incident_update(
        incident=incident,
        expected_version=incident.version,
        user=world.editor,
        title=marked(2, '"><img src=x onerror=alert(1)>'),
        status_line=marked(3, "'><svg onload=alert(1)>")[:200],
        summary=PROSE,
        impact=PROSE,
        resolution=PROSE,
        next_step=PROSE,
    )
    incident_labels_set(
        incident=incident,
        labels=["javascript:alert", "x.onerror", "data:text", "on.load:1"],
        user=world.editor,
    )
    incident_references_set(
        incident=incident,
        references=[
            Reference("pager", marked(n, PAYLOADS[n])[:200], "https://example.test/p")
            for n in range(20, 40)
        ],
        user=world.editor,
    )
    for n in (0, 12, 31, 55, 70, 73, 96):
        name = marked(n, PAYLOADS[n]).replace("/", "_")[:150] + ".log"
        attachment_upload(
            incident=incident, upload=SimpleUploadedFile(name, b"worker exited\n"), user=None
        )
    return incident


def test_prose_labels_references_and_attachment_names_are_inert_on_every_page(world):
    incident = _prose_everywhere(world)
    ref = incident.reference
    pages = {
        f"/incidents/{ref}/": EVERY,
        f"/incidents/{ref}/history/": None,
        "/incidents/": None,
        f"/incidents/?q={marker(5)}": range(5, 6),
        "/": None,
        "/action-items/": None,
    }
    found = []
    for url, markers in pages.items():
        found += check(get(world.editor_client, url), url, markers=markers)
    # The fields' stored HTML, as every other page and the exports take it.
    for field in ("summary_html", "impact_html", "resolution_html", "next_step_html"):
        found += fragment_dangers(getattr(incident, field), field)
    assert found == []


def test_the_edit_forms_keep_every_payload_inside_its_field(world):
    """Text lands in textarea and input values here: an attribute or element breakout shows."""
    incident = _prose_everywhere(world)
    ref = incident.reference
    cause = incident.causes.order_by("pk").first()
    action = incident.action_items.order_by("pk").first()
    assert cause is not None
    assert action is not None
    urls = [
        f"/incidents/{ref}/details/edit",
        f"/incidents/{ref}/labels/edit",
        f"/incidents/{ref}/text/summary/edit",
        f"/incidents/{ref}/text/next_step/edit",
        f"/incidents/{ref}/causes/{cause.pk}/edit",
        f"/incidents/{ref}/actions/{action.pk}/edit",
        f"/incidents/{ref}/document/edit",
        *(f"/incidents/{ref}/{key}/text" for key in ("timeline", "causes", "lessons", "actions")),
    ]
    found = []
    for url in urls:
        response = world.editor_client.get(url)
        if response.status_code == 404:
            found.append(f"{url}: no such page (the test names one that is gone)")
            continue
        assert response.status_code == 200, (url, response.status_code)
        found += check(response.content, url)
    assert found == []


def _published_update(world: World) -> Communication:
    template = CommunicationTemplate.objects.get(slug="status-identified")
    draft = communication_generate(incident=world.incident, template=template, user=world.editor)
    draft = communication_update(
        communication=draft,
        subject=marked(4, "</title><script>alert(1)</script>")[:200],
        body=PROSE,
        user=world.editor,
    )
    communication_approve(communication=draft, user=world.editor)
    return communication_send(communication=draft, user=world.editor)


@pytest.fixture
def public(world):
    """The imported incident with its prose, a published status page update carrying every
    payload, components and a maintenance window named with them."""
    default_templates_ensure()
    _prose_everywhere(world)
    update = _published_update(world)
    for n in range(0, len(PAYLOADS), 8):
        component_save(name=marked(n, PAYLOADS[n])[:100], order=n)
    now = timezone.now()
    maintenance = maintenance_create(
        title=marked(6, "<img src=x onerror=alert(1)>"),
        description=PROSE,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=1),
    )
    return update, maintenance


NS = {"atom": "http://www.w3.org/2005/Atom"}


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


def test_the_import_preview_of_a_document_full_of_payloads_is_inert(world):
    response = world.editor_client.post(
        "/incidents/import/",
        {
            "file": SimpleUploadedFile("postmortem.md", document("2026-02-03").encode()),
            "service": world.incident.service.slug,
        },
    )
    assert response.status_code == 200, response.status_code
    # The preview shows the first rows of each part, not the whole document.
    assert check(response.content, "import preview", markers=range(0, 10)) == []


def test_the_exports_are_served_as_what_they_are_never_as_html(world):
    _prose_everywhere(world)
    ref = world.incident.reference
    kinds = {
        f"/incidents/{ref}/postmortem.md": "text/markdown",
        f"/incidents/{ref}/postmortem.json": "application/json",
        f"/incidents/{ref}/postmortem.zip": "application/zip",
    }
    for url, kind in kinds.items():
        response = world.editor_client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].split(";")[0] == kind, url
        assert response["X-Content-Type-Options"] == "nosniff", url


def test_an_attachment_named_with_a_payload_is_served_as_a_download(world):
    incident = _prose_everywhere(world)
    for attachment in incident.attachments.all():
        response = world.editor_client.get(f"/attachments/{attachment.pk}/{attachment.name}")
        assert response.status_code == 200, attachment.name
        assert "html" not in response["Content-Type"], attachment.name
        assert response["X-Content-Type-Options"] == "nosniff"


def test_what_ci_sends_is_inert_on_the_system_pages(world):
    """Deployments and changes come from CI: branch names, authors and notes are whatever a
    commit or a pipeline says."""
    incident = world.incident
    service = incident.service
    service.description = PROSE
    service.save()
    environment = EnvironmentFactory(service=service, name="production")
    for n in range(0, len(PAYLOADS), 10):
        DeploymentFactory(
            environment=environment,
            branch=marked(n, PAYLOADS[n])[:200],
            deployed_by=marked(n + 1, PAYLOADS[n + 1])[:200],
            notes=marked(n + 2, PAYLOADS[n + 2]),
            started_at=incident.started_at - timedelta(minutes=30 + n),
        )
        ChangeFactory(
            service=service,
            summary=marked(n + 3, PAYLOADS[n + 3])[:500],
            by=marked(n + 4, PAYLOADS[n + 4])[:200],
            at=incident.started_at - timedelta(minutes=20 + n),
        )
    found = []
    for url in (
        "/system/",
        "/system/shop/production/",
        "/system/shop/production/gate/",
        f"/incidents/{incident.reference}/system",
    ):
        found += check(get(world.editor_client, url), url)
    page = get(world.editor_client, "/system/shop/production/").decode()
    assert marker(0) in page
    assert found == []


def test_webhook_names_and_addresses_are_inert_on_the_admins_pages(world):
    endpoints = [
        webhook_endpoint_save(
            endpoint=WebhookEndpoint(
                name=marked(n, PAYLOADS[n])[:100],
                url=f"https://hooks.example.test/{quote(PAYLOADS[n])}?q={quote(PAYLOADS[n])}",
            )
        )
        for n in range(0, len(PAYLOADS), 6)
    ]
    admin = Client()
    admin.force_login(user_with_role("admin"))
    found = check(get(admin, "/webhooks/"), "/webhooks/", markers=range(0, len(PAYLOADS), 6))
    for endpoint in endpoints[:5]:
        for url in (f"/webhooks/{endpoint.pk}/", f"/webhooks/{endpoint.pk}/edit/"):
            found += check(get(admin, url), url)
    assert found == []
