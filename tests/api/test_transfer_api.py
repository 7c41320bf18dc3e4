"""GET /incidents/{ref}/export and POST /incidents/import: documents over the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from deployments.models import Service
from incidents.documents import services
from incidents.models import Incident
from tests.api.test_incidents_api import PROBLEM, bearer, errors, problem_type
from tests.factories import ActionItemFactory, IncidentFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db

API = "/api/v1"
DOCUMENTS = Path(__file__).parent.parent / "incidents" / "documents"


def document(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


@pytest.fixture
def incident() -> Incident:
    incident = IncidentFactory(title="Queue stuck")
    ActionItemFactory(incident=incident, title="Add a dead-letter queue")
    return incident


# --- Export -------------------------------------------------------------------------------------


def test_export_as_markdown(incident):
    api = bearer(user_with_role("viewer"), scope="read")

    response = api.get(f"{API}/incidents/{incident.reference}/export?format=md")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# Queue stuck\n")
    assert "- [ ] Add a dead-letter queue p2 prevent" in text


def test_export_as_json_is_the_default(incident):
    api = bearer(user_with_role("viewer"), scope="read")

    response = api.get(f"{API}/incidents/{incident.number}/export")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["schema"] == "hindsight.postmortem/v1"
    assert [i["title"] for i in body["action_items"]] == ["Add a dead-letter queue"]


def test_the_accept_header_can_ask_for_markdown(incident):
    api = bearer(user_with_role("viewer"), scope="read")

    response = api.get(f"{API}/incidents/{incident.reference}/export", HTTP_ACCEPT="text/markdown")

    assert response["Content-Type"] == "text/markdown; charset=utf-8"


def test_exporting_an_unknown_incident_is_a_problem_404(db):
    api = bearer(user_with_role("viewer"), scope="read")

    response = api.get(f"{API}/incidents/INC-404/export?format=md")

    assert response.status_code == 404
    assert problem_type(response) == "not-found"


def test_export_needs_credentials(incident):
    response = APIClient().get(f"{API}/incidents/{incident.reference}/export")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM


# --- Import -------------------------------------------------------------------------------------


def test_import_a_markdown_body(db):
    ServiceFactory(slug="identity")
    api = bearer(user_with_role("editor"))

    response = api.post(
        f"{API}/incidents/import?service=identity",
        data=document("pd_login.md"),
        content_type="text/markdown",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    incident = Incident.objects.get()
    assert body["reference"] == incident.reference
    assert (
        response["Location"]
        == body["url"]
        == f"http://testserver{API}/incidents/{incident.reference}"
    )
    assert body["dry_run"] is False
    assert body["report"]["counts"]["Action items"] == 3
    assert body["report"]["unknown_owners"] == ["lee", "noor", "priya"]
    assert incident.action_items.count() == 3
    assert incident.created_by is not None
    assert incident.created_by.username == "editor-user"


def test_import_a_json_body_with_service_and_title(db):
    ServiceFactory(slug="dns")
    api = bearer(user_with_role("editor"))
    markdown = "## Timeline\n\n- 2026-06-21 02:10 Resolution errors begin\n"

    response = api.post(
        f"{API}/incidents/import",
        data=json.dumps({"markdown": markdown, "service": "dns", "title": "Resolver outage"}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert (incident.title, incident.service.slug) == ("Resolver outage", "dns")
    assert incident.timeline_events.count() == 1


def test_a_dry_run_answers_the_preview_and_writes_nothing(db):
    ServiceFactory(slug="billing")
    api = bearer(user_with_role("editor"))

    response = api.post(
        f"{API}/incidents/import?dry_run=true&service=billing",
        data=document("sre_billing.md"),
        content_type="text/markdown",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reference"] is None
    assert body["dry_run"] is True
    assert body["preview"]["title"] == "Billing Queue Backlog Postmortem"
    assert body["preview"]["service"] == "billing"
    assert body["report"]["counts"]["Timeline"] == 6
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"\x00\x01\x02 binary", "text/markdown", "markdown"),
        (b"", "text/markdown", "markdown"),
        (b"## Timeline\n\n- 10:00 x\n", "text/markdown", "title"),
        (
            json.dumps({"markdown": "# T\n\n- a\n", "service": "nope"}),
            "application/json",
            "service",
        ),
        (json.dumps({"markdown": "# T\n\n- a\n", "extra": 1}), "application/json", "extra"),
        (json.dumps({"markdown": 5}), "application/json", "markdown"),
    ],
)
def test_a_document_that_cannot_be_imported_is_a_400_naming_the_field(body, content_type, field):
    ServiceFactory(slug="ops")
    api = bearer(user_with_role("editor"))

    response = api.post(f"{API}/incidents/import?service=ops", data=body, content_type=content_type)

    assert field in errors(response)
    assert Incident.objects.count() == 0


def test_a_document_over_one_megabyte_is_a_413(db):
    ServiceFactory(slug="ops")
    api = bearer(user_with_role("editor"))
    body = b"# Big\n\n" + b"- line\n" * 200_000

    response = api.post(
        f"{API}/incidents/import?service=ops", data=body, content_type="text/markdown"
    )

    assert response.status_code == 413
    assert problem_type(response) == "document-too-large"


def test_a_service_named_by_the_document_must_exist(db):
    api = bearer(user_with_role("editor"))

    response = api.post(
        f"{API}/incidents/import", data=document("seed_ledgerly.md"), content_type="text/markdown"
    )

    assert "Ledgerly" in errors(response)["service"][0]
    assert Service.objects.count() == 0


def test_viewers_and_read_tokens_cannot_import(db):
    ServiceFactory(slug="ops")
    for api in (bearer(user_with_role("viewer")), bearer(user_with_role("editor"), scope="read")):
        response = api.post(
            f"{API}/incidents/import?service=ops",
            data=b"# T\n\n- a\n",
            content_type="text/markdown",
        )
        assert response.status_code == 403
    assert Incident.objects.count() == 0


def test_other_media_types_are_a_415(db):
    api = bearer(user_with_role("editor"))

    response = api.post(f"{API}/incidents/import", data="<h1>T</h1>", content_type="text/html")

    assert response.status_code == 415
    assert problem_type(response) == "unsupported-media-type"


def test_a_bad_dry_run_flag_is_a_400(db):
    api = bearer(user_with_role("editor"))

    response = api.post(
        f"{API}/incidents/import?dry_run=maybe", data=b"# T\n", content_type="text/markdown"
    )

    assert "dry_run" in errors(response)


def test_an_imported_export_round_trips_over_the_api(incident):
    api = bearer(user_with_role("editor"))
    markdown = api.get(f"{API}/incidents/{incident.reference}/export?format=md").content

    # The same service and start as the incident it came from: a copy on purpose.
    response = api.post(
        f"{API}/incidents/import?force=true", data=markdown, content_type="text/markdown"
    )

    assert response.status_code == 201, response.content
    copy = Incident.objects.get(number=int(response.json()["reference"].split("-")[1]))
    assert copy.service == incident.service
    assert list(copy.action_items.values_list("title", flat=True)) == ["Add a dead-letter queue"]


RELAY = """# Relay - Webhooks delayed

**Incident Date:** 2026-04-07 08:15 - 08:40 UTC

- [ ] Alert on delivery lag
"""


def test_a_document_imported_already_is_409_naming_the_incident_unless_forced():
    ServiceFactory(slug="relay", name="Relay")
    first = services.postmortem_import(data=RELAY, user=None).incident
    api = bearer(user_with_role("editor"))
    url = f"{API}/incidents/import"

    dry = api.post(f"{url}?dry_run=true", data=RELAY, content_type="text/markdown")
    refused = api.post(url, data=RELAY, content_type="text/markdown")
    forced = api.post(f"{url}?force=true", data=RELAY, content_type="text/markdown")

    assert dry.json()["preview"]["duplicate_of"] == first.reference
    assert refused.status_code == 409
    assert refused["Content-Type"] == PROBLEM
    assert problem_type(refused) == "already-imported"
    assert refused.json()["duplicate_of"] == first.reference
    assert forced.status_code == 201
