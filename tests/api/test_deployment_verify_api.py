"""POST /api/v1/deployments/{id}/verify: run a deployment's smoke checks now and answer the
deployment with its health, which the CI client's wait-healthy polls.

The targets are real HTTP servers on 127.0.0.1 (tests/deployments/servers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments.models import Deployment, Environment
from deployments.services import deployment_record
from tests.deployments.servers import TargetServer, start_target_server
from tests.factories import (
    T0,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

DEPLOYMENTS = "/api/v1/deployments"
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


def bearer(role: str = "admin", scope: str = "write") -> APIClient:
    user = user_with_role(role, username=f"{role}-{scope}")
    _token, raw = token_create(user=user, name="CI", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def admin() -> APIClient:
    return bearer("admin")


@pytest.fixture
def production() -> Environment:
    return EnvironmentFactory(service__slug="moodmash", name="production")


def watch(environment: Environment, server: TargetServer, *paths: str) -> None:
    for path in paths:
        HealthCheckFactory(
            service=environment.service, environment=environment, url=server.url(path)
        )


def recorded(environment: Environment, external_id: str = "ci-1", **fields) -> Deployment:
    """A deployment as the CI client records it: no times, status succeeded."""
    fields.setdefault("status", Deployment.Status.SUCCEEDED)
    deployment, _ = deployment_record(
        environment=environment, external_id=external_id, commit_sha="c0ffee1", **fields
    )
    return deployment


def verify(client: APIClient, deployment: Deployment, **headers):
    return client.post(f"{DEPLOYMENTS}/{deployment.pk}/verify", **headers)


def problem_type(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return response.json()["type"].removeprefix(PROBLEM)


def test_verify_probes_the_environments_checks_and_answers_the_deployment_healthy(
    admin, production, server
):
    watch(production, server, "/ok", "/body?text=fine")
    preview = EnvironmentFactory(service=production.service, name="preview")
    watch(preview, server, "/status/500")  # another environment's check: not this deployment's
    deployment = recorded(production)
    assert deployment.health == Deployment.Health.UNKNOWN

    response = verify(admin, deployment)

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["id"], data["health"]) == (deployment.pk, "healthy")
    assert data["health_checked_at"] is not None
    assert "artifacts" in data  # the deployment's detail
    assert sorted(r.path for r in server.requests) == ["/body?text=fine", "/ok"]
    assert admin.get(f"{DEPLOYMENTS}/{deployment.pk}").json() == data


def test_a_failing_check_answers_unhealthy_and_a_later_verify_probes_again(
    admin, production, server
):
    watch(production, server, "/status/502")
    deployment = recorded(production)
    first = verify(admin, deployment)
    assert (first.status_code, first.json()["health"]) == (200, "unhealthy")
    # The provider finished propagating: the check passes now.
    production.health_checks.update(url=server.url("/ok"))
    second = verify(admin, deployment)
    assert second.json()["health"] == "healthy"
    assert second.json()["health_checked_at"] >= first.json()["health_checked_at"]


def test_without_checks_for_its_environment_nothing_is_probed_and_health_stays_unknown(
    admin, production, server
):
    HealthCheckFactory(service=production.service, url=server.url("/ok"))  # watches no environment
    deployment = recorded(production)
    response = verify(admin, deployment)
    assert response.status_code == 200
    assert (response.json()["health"], response.json()["health_checked_at"]) == ("unknown", None)
    assert server.requests == []


@pytest.mark.parametrize("status", ["pending", "in_progress", "failed", "rolled_back"])
def test_only_a_succeeded_deployment_is_verified(admin, production, server, status):
    watch(production, server, "/ok")
    deployment = DeploymentFactory(environment=production, status=status)
    response = verify(admin, deployment)
    assert response.status_code == 409
    assert problem_type(response) == "not-verifiable"
    assert server.requests == []
    assert Deployment.objects.get(pk=deployment.pk).health == Deployment.Health.UNKNOWN


def test_a_deployment_a_newer_one_replaced_is_not_verified(admin, production, server):
    watch(production, server, "/ok")
    old = DeploymentFactory(environment=production, started_at=T0, finished_at=T0)
    DeploymentFactory(environment=production, started_at=T0 + timedelta(hours=1))
    response = verify(admin, old)
    assert response.status_code == 409
    assert problem_type(response) == "not-verifiable"
    assert "newer deployment" in response.json()["detail"]
    assert server.requests == []


def test_a_newer_failed_or_pending_deployment_does_not_replace_it(admin, production, server):
    watch(production, server, "/ok")
    live = DeploymentFactory(environment=production, started_at=T0, finished_at=T0)
    DeploymentFactory(environment=production, started_at=T0 + timedelta(hours=1), status="failed")
    DeploymentFactory(environment=production, started_at=T0 + timedelta(hours=2), status="pending")
    assert verify(admin, live).json()["health"] == "healthy"


@pytest.mark.parametrize(
    ("role", "scope", "expected"),
    [("viewer", "write", 403), ("editor", "write", 403), ("admin", "read", 403)],
)
def test_only_an_admin_with_a_write_token_verifies(production, server, role, scope, expected):
    watch(production, server, "/ok")
    deployment = recorded(production)
    response = verify(bearer(role, scope), deployment)
    assert response.status_code == expected
    assert problem_type(response) == "permission-denied"
    assert server.requests == []


def test_anonymous_is_401_and_an_unknown_deployment_404(admin, production):
    deployment = recorded(production)
    assert APIClient().post(f"{DEPLOYMENTS}/{deployment.pk}/verify").status_code == 401
    assert admin.post(f"{DEPLOYMENTS}/999999/verify").status_code == 404


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(admin, production, server):
    watch(production, server, "/ok")
    deployment = recorded(production)
    first = verify(admin, deployment, HTTP_IDEMPOTENCY_KEY="verify-1")
    again = verify(admin, deployment, HTTP_IDEMPOTENCY_KEY="verify-1")
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert len(server.requests) == 1


def test_the_schema_documents_verify_like_its_neighbours(client):
    client.force_login(user_with_role("viewer"))
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][f"{DEPLOYMENTS}/{{id}}/verify"]["post"]
    assert "requestBody" not in operation
    assert {"200", "409", "422"} <= set(operation["responses"])
    assert "application/problem+json" in operation["responses"]["409"]["content"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == [
        "Idempotency-Key"
    ]
    detail = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][detail.rsplit("/", 1)[1]]["properties"]
    assert {"health", "health_checked_at"} <= set(fields)
    enum = fields["health"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    health = schema["components"]["schemas"][enum]
    assert health["enum"] == ["unknown", "healthy", "unhealthy"]
