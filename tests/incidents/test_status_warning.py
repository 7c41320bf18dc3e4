"""A status line marked with a warning sign: neither healthy nor failing. Read from a document,
held by the row, shown on the page, written back by both exports."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from incidents.documents import services as documents
from incidents.documents.exports import export_incident
from incidents.models import StatusItem
from tests.factories import IncidentFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db

DOCUMENT = """# Mailer - Bounces

## Current status

- ✅ **Sending:** normal
- ⚠️ **Bounce handling:** catching up on a backlog
- ❌ **Digest emails:** paused
- **Templates:** unchanged
"""


def test_a_line_marked_with_a_warning_sign_keeps_its_warning_through_import_and_export():
    ServiceFactory(slug="mailer", name="Mailer")

    incident = documents.postmortem_import(data=DOCUMENT, user=None).incident

    rows = incident.status_items.order_by("order")
    assert [(r.label, r.ok, r.warning) for r in rows] == [
        ("Sending", True, False),
        ("Bounce handling", None, True),
        ("Digest emails", False, False),
        ("Templates", None, False),
    ]
    markdown = export_incident(incident.reference, "md").text()
    assert "- ⚠️ **Bounce handling**: catching up on a backlog" in markdown
    assert "- **Templates**" in markdown
    data = export_incident(incident.reference, "json").data
    assert isinstance(data, dict)
    assert [s["warning"] for s in data["status_items"]] == [False, True, False, False]


def test_a_line_cannot_be_both_healthy_and_a_warning():
    incident = IncidentFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        StatusItem.objects.create(
            incident=incident, kind="current", label="x", ok=True, warning=True
        )


def test_the_page_shows_the_warning_beside_the_line(client):
    incident = IncidentFactory()
    StatusItem.objects.create(incident=incident, kind="current", label="Bounces", warning=True)
    client.force_login(user_with_role("viewer"))

    html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()

    assert '<span class="attention" aria-label="needs attention">⚠</span>' in html


def test_the_editor_sets_the_warning_and_is_told_when_it_clashes_with_healthy(client):
    incident = IncidentFactory()
    client.force_login(user_with_role("editor"))
    url = reverse("incidents:row_new", args=[incident.reference, "status"])
    line = {"kind": "current", "label": "Bounces", "detail": "", "ok": "unknown", "warning": "on"}

    assert client.post(url, line).status_code == 302
    clash = client.post(url, {**line, "label": "Digests", "ok": "true"}, HTTP_HX_REQUEST="true")

    assert StatusItem.objects.get().warning is True
    assert clash.status_code == 422
    assert "A line with a warning is neither healthy nor failing." in clash.content.decode()


def test_the_import_preview_shows_each_lines_mark(client):
    ServiceFactory(slug="mailer", name="Mailer")
    client.force_login(user_with_role("editor"))

    html = client.post("/incidents/import/", {"markdown": DOCUMENT}).content.decode()

    assert "✅ current · Sending" in html
    assert "⚠️ current · Bounce handling" in html
    assert "❌ current · Digest emails" in html
