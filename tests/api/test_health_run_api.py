"""POST /api/v1/health-checks/{id}/run: probe one check now, for admins, and answer the result.

The targets are real HTTP servers on 127.0.0.1 (tests/deployments/servers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments.models import CheckResult, HealthChange, HealthSnapshot, HealthStatus
from deployments.services import ProbeOutcome, snapshot_record
from tests.deployments.servers import TargetServer, start_target_server
from tests.factories import HealthCheckFactory, user_with_role

pytestmark = pytest.mark.django_db

PROBLEM = "urn:hindsight:problem:"


@pytest.fixture(scope="module")
def _server() -> Iterator[TargetServer]:
    server = start_target_server()
    yield server
    server.close()


@pytest.fixture
def server(_server: TargetServer, settings) -> TargetServer:
    settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    _server.reset()
    return _server


def bearer(role: str, scope: str = "write") -> APIClient:
    user = user_with_role(role, username=f"{role}-{scope}")
    _token, raw = token_create(user=user, name="tooling", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def run_url(check) -> str:
    return f"/api/v1/health-checks/{check.pk}/run"


@pytest.fixture
def pair(server):
    """A service with two checks whose last scheduled snapshot was all up."""
    home = HealthCheckFactory(name="Home", url=server.url("/ok"))
    api = HealthCheckFactory(service=home.service, name="API", url=server.url("/ok"))
    snapshot_record(
        service=home.service,
        taken_at=timezone.now() - timedelta(minutes=1),
        outcomes=[ProbeOutcome(home, True, 200, 30), ProbeOutcome(api, True, 200, 30)],
    )
    return home, api


def test_an_admin_runs_a_check_and_gets_the_stored_result(server, pair):
    home, _api = pair
    response = bearer("admin").post(run_url(home))

    assert response.status_code == 201, response.content
    body = response.json()
    result = CheckResult.objects.get(pk=body["id"])
    assert body == {
        "id": result.pk,
        "snapshot": result.snapshot_id,
        "health_check": home.pk,
        "name": "Home",
        "taken_at": result.taken_at.isoformat().replace("+00:00", "Z"),
        "ok": True,
        "status_code": 200,
        "latency_ms": result.latency_ms,
        "error": "",
        "maintenance": False,
        "service_status": "up",
    }
    assert response["Location"].endswith(f"/api/v1/health-snapshots/{result.snapshot_id}")
    assert [r.path for r in server.requests] == ["/ok"]


def test_a_failing_target_is_a_201_with_the_error(server, pair):
    home, _api = pair
    home.url = server.url("/status/500")
    home.save()

    body = bearer("admin").post(run_url(home)).json()

    assert body["ok"] is False
    assert body["status_code"] == 500
    assert "unexpected status 500" in body["error"]


def test_one_failing_check_makes_the_service_degraded_and_records_no_change(server, pair):
    home, api = pair
    home.url = server.url("/status/500")
    home.save()

    body = bearer("admin").post(run_url(home)).json()

    # Alone, the one failed check would read "down"; beside the other's last answer it is
    # degraded, and a run-now snapshot is never a change of the service's health.
    assert body["service_status"] == HealthStatus.DEGRADED
    snapshot = HealthSnapshot.objects.get(pk=body["snapshot"])
    assert snapshot.kind == HealthSnapshot.Kind.MANUAL
    assert list(snapshot.results.values_list("health_check_id", flat=True)) == [home.pk]
    assert list(HealthChange.objects.values_list("to_status", flat=True)) == ["up"]

    # The next scheduled snapshot still records the change from the last scheduled one.
    later = snapshot_record(
        service=home.service,
        taken_at=timezone.now() + timedelta(seconds=1),
        outcomes=[ProbeOutcome(home, False, 500, 3, "500"), ProbeOutcome(api, True, 200, 3)],
    )
    change = HealthChange.objects.get(snapshot=later)
    assert (change.from_status, change.to_status) == ("up", "degraded")


def test_a_disabled_check_can_be_run_without_moving_the_service(server, pair):
    home, _api = pair
    off = HealthCheckFactory(service=home.service, url=server.url("/status/503"), enabled=False)

    body = bearer("admin").post(run_url(off)).json()

    assert body["ok"] is False
    assert body["service_status"] == HealthStatus.UP


@pytest.mark.parametrize(("role", "scope"), [("viewer", "read"), ("editor", "write")])
def test_roles_below_admin_get_403_and_nothing_is_probed(server, pair, role, scope):
    home, _api = pair
    response = bearer(role, scope).post(run_url(home))

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + "permission-denied"
    assert server.requests == []
    assert HealthSnapshot.objects.count() == 1


def test_an_admins_read_token_cannot_run_a_check(server, pair):
    response = bearer("admin", "read").post(run_url(pair[0]))

    assert response.status_code == 403
    assert "read scope" in response.json()["detail"]
    assert server.requests == []


def test_without_credentials_it_is_401(pair):
    response = APIClient().post(run_url(pair[0]))
    assert response.status_code == 401
    assert response.json()["type"] == PROBLEM + "not-authenticated"


def test_an_admin_session_needs_the_csrf_token(server, pair):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user_with_role("admin"))

    refused = client.post(run_url(pair[0]))
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    token = "k" * 32  # the shape of a CSRF secret; the cookie and the header must agree
    client.cookies["csrftoken"] = token
    accepted = client.post(run_url(pair[0]), HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content


@pytest.mark.parametrize("pk", ["999999", "9" * 18])
def test_an_unknown_check_is_a_404_problem(pk):
    response = bearer("admin").post(f"/api/v1/health-checks/{pk}/run")
    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "not-found"


def test_other_methods_are_405(pair):
    response = bearer("admin").get(run_url(pair[0]))
    assert response.status_code == 405


def test_the_schema_documents_the_run_operation():
    client = APIClient()
    client.force_login(user_with_role("viewer"))
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/health-checks/{id}/run"]["post"]
    assert "201" in operation["responses"]
    assert "403" in operation["responses"]
    assert "requestBody" not in operation
