"""The world the XSS tests render: a post-mortem imported with the corpus in every section,
then every prose field, label, reference and attachment name written with it, and the checks
that each page must pass."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from incidents.attachments.services import attachment_upload
from incidents.communications.services import (
    communication_approve,
    communication_generate,
    communication_send,
    communication_update,
)
from incidents.models import (
    Communication,
    CommunicationTemplate,
    Incident,
)
from incidents.postmortem.services.incident import incident_update
from incidents.postmortem.services.references import (
    Reference,
    incident_labels_set,
    incident_references_set,
)
from tests.security.inert import dangers
from tests.security.payloads import MARKDOWN_PAYLOADS, PAYLOADS, all_marked, marked, marker

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


def get(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content


PROSE = "\n\n".join([*MARKDOWN_PAYLOADS, *all_marked()])


def prose_everywhere(world: World) -> Incident:
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


def published_update(world: World) -> Communication:
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
