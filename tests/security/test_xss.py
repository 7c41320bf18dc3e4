"""The XSS corpus (payloads.py) written into every place user text is shown, each output parsed
as a browser would (inert.py): no script elements, no event handler attributes, no dangerous URLs.

Many payloads go into one request: one imported post-mortem holds the whole corpus (all of it
in its summary and prose fields, a share of it in each section's rows), a message body holds it
all, and each page is fetched once. The world they are written into is xss_world.py; the pages
the public and subscribers see are test_xss_public.py. Every page must also show the
payloads' markers, so a page that silently left the text out cannot pass for one that is safe.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from incidents.communications.services import webhook_endpoint_save
from incidents.models import WebhookEndpoint
from tests.factories import (
    ChangeFactory,
    DeploymentFactory,
    EnvironmentFactory,
    user_with_role,
)
from tests.security.inert import fragment_dangers
from tests.security.payloads import PAYLOADS, marked, marker
from tests.security.xss_world import (
    EVERY,
    PROSE,
    check,
    document,
    get,
    prose_everywhere,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def test_an_imported_postmortem_with_every_payload_in_every_section_is_inert(world):
    url = f"/incidents/{world.incident.reference}/"
    assert check(get(world.editor_client, url), url, markers=EVERY) == []


def test_prose_labels_references_and_attachment_names_are_inert_on_every_page(world):
    incident = prose_everywhere(world)
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
    incident = prose_everywhere(world)
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
    prose_everywhere(world)
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
    incident = prose_everywhere(world)
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
