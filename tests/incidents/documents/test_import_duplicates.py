"""Importing a document that was imported already: every face says so, names the incident and
lets the person update it or import anyway, instead of silently making a second one."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.documents import services
from incidents.documents.plan import AlreadyImported
from incidents.models import Incident
from tests.factories import ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db

DOCUMENT = """# Relay - Webhooks delayed

**Incident Date:** 2026-04-07 08:15 - 08:40 UTC

## Timeline

- 08:15 Deliveries started to queue
- 08:40 The backlog was drained
"""


@pytest.fixture
def relay():
    return ServiceFactory(slug="relay", name="Relay")


def test_the_same_text_again_is_refused_with_the_incident_it_was_imported_as(relay):
    first = services.postmortem_import(data=DOCUMENT, user=None).incident

    with pytest.raises(AlreadyImported) as refused:
        services.postmortem_import(data=DOCUMENT.replace("\n", "\r\n") + "\n\n", user=None)

    assert (refused.value.incident, refused.value.reason) == (first, "the same document")
    assert Incident.objects.count() == 1


def test_another_document_of_the_same_service_and_start_is_refused_too(relay):
    first = services.postmortem_import(data=DOCUMENT, user=None).incident
    rewritten = DOCUMENT.replace("Webhooks delayed", "Late webhooks") + "\n## Impact\n\nSome.\n"

    with pytest.raises(AlreadyImported) as refused:
        services.postmortem_import(data=rewritten, user=None)

    assert (refused.value.incident, refused.value.reason) == (
        first,
        "the same service and start",
    )


def test_forcing_imports_a_second_incident_and_a_different_start_is_no_duplicate(relay):
    services.postmortem_import(data=DOCUMENT, user=None)

    services.postmortem_import(data=DOCUMENT, user=None, force=True)
    services.postmortem_import(data=DOCUMENT.replace("08:15 - 08:40", "09:15 - 09:40"), user=None)

    assert Incident.objects.count() == 3


def test_the_preview_links_the_incident_and_offers_to_import_anyway(client, relay):
    first = services.postmortem_import(data=DOCUMENT, user=None).incident
    client.force_login(user_with_role("editor"))

    preview = client.post("/incidents/import/", {"markdown": DOCUMENT})

    html = preview.content.decode()
    assert preview.status_code == 200
    detail = reverse("incidents:detail", args=[first.reference])
    assert f'<a href="{detail}">{first.reference} · Relay - Webhooks delayed</a>' in html
    assert "(the same document)" in html
    assert f"Open {first.reference} to update it" in html
    assert "Import as a new incident</button>" not in html
    signed = html.split('name="document" value="')[1].split('"')[0]

    plain = client.post("/incidents/import/confirm", {"document": signed})
    assert plain.status_code == 409
    assert Incident.objects.count() == 1
    anyway = client.post("/incidents/import/confirm", {"document": signed, "force": "on"})
    assert anyway.status_code == 302
    assert Incident.objects.count() == 2


def test_the_command_says_so_and_exits_non_zero_unless_forced(tmp_path, relay):
    path = tmp_path / "relay.md"
    path.write_text(DOCUMENT, encoding="utf-8")
    call_command("import_postmortem", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    first = Incident.objects.get()

    with pytest.raises(CommandError, match=f"already imported as {first.reference}.*--force"):
        call_command("import_postmortem", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("import_postmortem", str(path), "--force", stdout=out, stderr=io.StringIO())

    assert out.getvalue().strip() == Incident.objects.latest("number").reference
    assert Incident.objects.count() == 2
