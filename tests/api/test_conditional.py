"""Conditional GETs: every API list and detail answers an ETag and If-None-Match with 304, never
a stale one, never on an error, and never one user's answer for another's."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from deployments import services as deployment_services
from deployments.models import GateRun
from deployments.services import ProbeOutcome, snapshot_record
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.communications.services.webhooks import webhook_endpoint_save
from incidents.models import Incident, WebhookEndpoint
from tests.api.test_incidents_api import bearer, etag_version, send_json
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    ChangeFactory,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    IncidentFactory,
    LessonFactory,
    MaintenanceWindowFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Answered 404 with this data, honestly: nothing is proven good yet.
NOT_FOUND_HERE = {"environment-last-known-good"}


@pytest.fixture
def admin() -> APIClient:
    return bearer(user_with_role("admin"))


@pytest.fixture
def world(admin, settings, tmp_path) -> dict[str, str]:
    """One of everything the API reads, and a URL for every GET route."""
    settings.MEDIA_ROOT = tmp_path
    default_templates_ensure()
    environment = EnvironmentFactory(service__slug="moodmash", name="production")
    service = environment.service
    deployment = DeploymentFactory(environment=environment)
    check = HealthCheckFactory(service=service, environment=environment)
    snapshot = snapshot_record(
        service=service, taken_at=T0, outcomes=[ProbeOutcome(check, ok=True)]
    )
    rule = deployment_services.gate_rule_create(environment=environment, kind="stale_build")
    gate = admin.post(
        f"{API}/gate",
        json.dumps(
            {
                "service": "moodmash",
                "environment": "production",
                "commit": "E4F5A6B",
                "manifest": [{"path": "_worker.js", "size": 1, "sha256": "a" * 64}],
            }
        ),
        content_type="application/json",
    )
    assert gate.status_code == 200, gate.content
    change = ChangeFactory(service=service, environment=environment)
    window = MaintenanceWindowFactory(service=service)
    incident = IncidentFactory(
        service=service,
        started_at=T0,
        resolved_at=T0 + timedelta(minutes=16),
        status=Incident.Status.RESOLVED,
    )
    ref = incident.reference
    endpoint = webhook_endpoint_save(
        endpoint=WebhookEndpoint(name="Chat", url="https://hooks.example.com/x")
    )
    rows = {
        "timeline-events": TimelineEventFactory(incident=incident),
        "causes": CauseFactory(incident=incident),
        "lessons": LessonFactory(incident=incident),
        "action-items": ActionItemFactory(incident=incident),
        "success-criteria": SuccessCriterionFactory(incident=incident),
    }
    comm = admin.post(
        f"{API}/incidents/{ref}/communications/generate",
        json.dumps({"template": USER_EMAIL_SLUG}),
        content_type="application/json",
    )
    assert comm.status_code == 201, comm.content
    upload = admin.post(
        f"{API}/incidents/{ref}/attachments",
        {"file": SimpleUploadedFile("a.png", PNG)},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    urls = {
        "tokens": f"{API}/tokens",
        "services": f"{API}/services",
        "service": f"{API}/services/{service.slug}",
        "environments": f"{API}/environments",
        "environment": f"{API}/environments/{environment.pk}",
        "environment-last-known-good": f"{API}/environments/{environment.pk}/last-known-good",
        "deployments": f"{API}/deployments",
        "deployment": f"{API}/deployments/{deployment.pk}",
        "health-checks": f"{API}/health-checks",
        "health-check": f"{API}/health-checks/{check.pk}",
        "health-snapshots": f"{API}/health-snapshots",
        "health-snapshot": f"{API}/health-snapshots/{snapshot.pk}",
        "gate-runs": f"{API}/gate-runs",
        "gate-run": f"{API}/gate-runs/{GateRun.objects.get().pk}",
        "gate-rules": f"{API}/gate-rules",
        "gate-rule": f"{API}/gate-rules/{rule.pk}",
        "changes": f"{API}/changes",
        "change": f"{API}/changes/{change.pk}",
        "maintenance-windows": f"{API}/maintenance-windows",
        "maintenance-window": f"{API}/maintenance-windows/{window.pk}",
        "communication-templates": f"{API}/communication-templates",
        "communication-template": f"{API}/communication-templates/{USER_EMAIL_SLUG}",
        "communications": f"{API}/incidents/{ref}/communications",
        "communication": f"{API}/incidents/{ref}/communications/{comm.json()['id']}",
        "all-action-items": f"{API}/action-items",
        "any-action-item": f"{API}/action-items/{rows['action-items'].pk}",
        "incidents": f"{API}/incidents",
        "incident": f"{API}/incidents/{ref}",
        "export": f"{API}/incidents/{ref}/export?format=md",
        "export-json": f"{API}/incidents/{ref}/export?format=json",
        "attachments": f"{API}/incidents/{ref}/attachments",
        "correlation": f"{API}/incidents/{ref}/correlation",
        "similar": f"{API}/incidents/{ref}/similar",
        "health-hours": f"{API}/health-hours",
        "events": f"{API}/events",
        "webhooks": f"{API}/webhooks",
        "webhook": f"{API}/webhooks/{endpoint.pk}",
        "webhook-deliveries": f"{API}/webhooks/{endpoint.pk}/deliveries",
    }
    for name, row in rows.items():
        urls[name] = f"{API}/incidents/{ref}/{name}"
        urls[f"{name}-row"] = f"{API}/incidents/{ref}/{name}/{row.pk}"
    return urls


def _get_routes() -> dict[object, str]:
    def walk(patterns, prefix: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    routes = {}
    for route, callback in walk(get_resolver().url_patterns):
        actions = getattr(callback, "actions", None)
        view_class = getattr(callback, "cls", None)
        answers_get = "get" in actions if actions else hasattr(view_class, "get")
        if route.startswith("api/v1/") and answers_get:
            routes[callback] = route
    return routes


def test_the_urls_below_cover_every_get_of_the_api(world):
    routes = _get_routes()
    assert len(routes) > 30
    covered = {resolve(url.split("?")[0]).func for url in world.values()}
    assert sorted(route for view, route in routes.items() if view not in covered) == []


def test_every_list_and_detail_answers_an_etag_and_304_for_it(world, admin):
    for name, url in world.items():
        first = admin.get(url)
        if name in NOT_FOUND_HERE:
            assert first.status_code == 404, name
            assert "ETag" not in first, name
            continue
        assert first.status_code == 200, (name, first.content[:200])
        etag = first["ETag"]
        assert etag.startswith('"'), (name, etag)  # strong, not W/
        assert etag.endswith('"'), (name, etag)
        again = admin.get(url, HTTP_IF_NONE_MATCH=etag)
        if name == "export-json":
            # Each JSON export is stamped with its `exported_at`: no two are the same bytes.
            assert again.status_code == 200
            assert again["ETag"] != etag
            continue
        assert again.status_code == 304, (name, again.status_code)
        assert again.content == b""
        assert again["ETag"] == etag
        assert again["X-Request-Id"]
        # If-None-Match compares weakly, as RFC 9110 says.
        assert admin.get(url, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304, name
        assert admin.get(url, HTTP_IF_NONE_MATCH='"other", ' + etag).status_code == 304, name


def test_a_change_gives_a_new_etag_and_a_200(world, admin):
    first = admin.get(f"{API}/incidents")
    IncidentFactory(title="Another one")
    again = admin.get(f"{API}/incidents", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_a_row_answers_its_version_and_304_until_it_changes(admin):
    item = ActionItemFactory(incident=IncidentFactory())
    url = f"{API}/incidents/{item.incident.reference}/action-items/{item.pk}"
    first = admin.get(url)
    assert first["ETag"] == f'"{item.version}"'
    assert admin.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    patched = admin.patch(
        url,
        json.dumps({"title": "Renamed"}),
        content_type="application/json",
        HTTP_IF_MATCH=first["ETag"],
    )
    assert patched.status_code == 200, patched.content
    after = admin.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200
    assert after.json()["title"] == "Renamed"


# --- The incident's detail: "<version>.<digest>", 304 on the digest, If-Match on the version ---


def incident_read(client: APIClient, incident: Incident, if_none_match: str = ""):
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    return client.get(f"{API}/incidents/{incident.reference}", headers=headers)


def patch_title(client: APIClient, incident: Incident, title: str, if_match: str):
    return send_json(
        client,
        "patch",
        f"{API}/incidents/{incident.reference}",
        {"title": title},
        HTTP_IF_MATCH=if_match,
    )


def test_the_incident_answers_304_while_nothing_in_it_changed(admin):
    incident = IncidentFactory()
    first = incident_read(admin, incident)
    assert etag_version(first) == incident.version
    again = incident_read(admin, incident, first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert incident_read(admin, incident, f"W/{first['ETag']}").status_code == 304


def test_a_timeline_event_added_through_the_api_gives_the_incident_a_new_etag_and_a_200(admin):
    incident = IncidentFactory()
    first = incident_read(admin, incident)
    added = send_json(
        admin,
        "post",
        f"{API}/incidents/{incident.reference}/timeline-events",
        {"occurred_at": "2026-01-02T06:05:00Z", "text": "A new line the version does not count"},
    )
    assert added.status_code == 201, added.content
    again = incident_read(admin, incident, first["ETag"])
    assert again.status_code == 200
    assert "A new line" in again.content.decode()
    assert again["ETag"] != first["ETag"]
    # The row left the version alone: only the digest tells the two answers apart.
    assert etag_version(again) == etag_version(first) == Incident.objects.get().version
    assert incident_read(admin, incident, again["ETag"]).status_code == 304


def test_a_changed_field_gives_the_incident_a_new_etag_and_a_200(admin):
    incident = IncidentFactory()
    first = incident_read(admin, incident)
    Incident.objects.filter(pk=incident.pk).update(summary="Written elsewhere.")
    again = incident_read(admin, incident, first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    assert again.json()["summary"] == "Written elsewhere."


def test_a_write_answers_the_etag_the_next_read_answers(admin):
    incident = IncidentFactory()
    patched = patch_title(admin, incident, "Renamed", incident_read(admin, incident)["ETag"])
    assert patched.status_code == 200, patched.content
    assert etag_version(patched) == incident.version + 1
    assert incident_read(admin, incident, patched["ETag"]).status_code == 304


def test_if_match_takes_the_etag_as_read_or_the_bare_version(admin):
    incident = IncidentFactory()
    read = incident_read(admin, incident)
    with_etag = patch_title(admin, incident, "First", read["ETag"])
    assert with_etag.status_code == 200, with_etag.content
    bare = f'"{etag_version(with_etag)}"'
    with_version = patch_title(admin, incident, "Second", bare)
    assert with_version.status_code == 200, with_version.content
    assert Incident.objects.get().title == "Second"


def test_a_row_written_since_the_read_does_not_make_if_match_stale(admin):
    incident = IncidentFactory()
    read = incident_read(admin, incident)
    TimelineEventFactory(incident=incident, text="Someone else's line")
    assert incident_read(admin, incident)["ETag"] != read["ETag"]
    patched = patch_title(admin, incident, "Mine", read["ETag"])
    assert patched.status_code == 200, patched.content
    assert Incident.objects.get().title == "Mine"


def test_a_stale_if_match_is_412_in_either_form(admin):
    incident = IncidentFactory()
    read = incident_read(admin, incident)
    assert patch_title(admin, incident, "First", read["ETag"]).status_code == 200
    for stale in (read["ETag"], f'"{etag_version(read)}"'):
        response = patch_title(admin, incident, "Lost", stale)
        assert response.status_code == 412, stale
        assert response.json()["current_version"] == incident.version + 1
        # The current version alone: enough for If-Match, and it names no answer's body.
        assert response["ETag"] == f'"{incident.version + 1}"'
    assert Incident.objects.get().title == "First"


def test_no_304_on_an_error(admin):
    response = admin.get(f"{API}/incidents/INC-404", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404
    assert "ETag" not in response


def test_answers_vary_on_the_credentials_and_stay_private():
    response = bearer(user_with_role("viewer"), scope="read").get(f"{API}/incidents")
    assert {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-cache"}


def test_one_users_etag_does_not_get_another_user_a_304_for_their_own_list():
    alice, bob = (
        bearer(user_with_role("editor", username="alice")),
        bearer(user_with_role("editor", username="bob")),
    )
    alices = alice.get(f"{API}/tokens")
    bobs = bob.get(f"{API}/tokens", HTTP_IF_NONE_MATCH=alices["ETag"])
    assert bobs.status_code == 200
    assert bobs["ETag"] != alices["ETag"]


def test_pages_outside_the_api_are_left_alone(client):
    response = client.get("/login/")
    assert "ETag" not in response


def test_the_schema_documents_the_etag_and_304_on_every_get():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    gets = {path: item["get"] for path, item in schema["paths"].items() if "get" in item}
    assert len(gets) > 30
    for path, operation in gets.items():
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers.count("If-None-Match") == 1, path
        assert "304" in operation["responses"], path
        if "200" in operation["responses"]:
            assert "ETag" in operation["responses"]["200"]["headers"], path
    detail = gets["/api/v1/incidents/{ref}"]["responses"]["200"]["headers"]["ETag"]
    assert '"7.3f9a0c2b1d4e5f60"' in detail["description"]
