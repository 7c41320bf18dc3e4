"""The smoke run after a deploy goes through the outbox: recording a succeeded deployment while
Redis is down answers at once and loses nothing, and once the broker is back the relay's
publish reaches a real worker, which marks the deployment healthy."""

from __future__ import annotations

import json
import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments.models import Deployment
from deployments.services.probes import SMOKE_RUN_TASK
from outbox import services as outbox_services
from outbox.models import OutboxMessage
from tests import brokers
from tests.factories import EnvironmentFactory, HealthCheckFactory, user_with_role

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # "Within a second": one at a time with the group that needs quiet (tests/conftest.py).
    pytest.mark.xdist_group("one-at-a-time"),
]


@pytest.fixture
def production(target_server, loopback_allowed):
    production = EnvironmentFactory(service__slug="moodmash", name="production")
    HealthCheckFactory(
        service=production.service, environment=production, url=target_server.url("/ok")
    )
    return production


def record_succeeded(external_id: str = "ci-7") -> tuple[float, int]:
    """Record a just-finished deployment through the API as CI would; (seconds, status code)."""
    _token, raw = token_create(user=user_with_role("admin"), name="CI", scope="write")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    now = timezone.now().isoformat()
    body = {
        "service": "moodmash",
        "environment": "production",
        "external_id": external_id,
        "commit_sha": "3f9a2c1",
        "status": "succeeded",
        "started_at": now,
        "finished_at": now,
        "manifest": [{"path": "_worker.js", "size": 1_024, "sha256": "a" * 64}],
    }
    started = time.monotonic()
    response = client.post(
        "/api/v1/deployments", data=json.dumps(body), content_type="application/json"
    )
    return time.monotonic() - started, response.status_code


@pytest.mark.parametrize("down", ["refused", "silent"])
def test_recording_a_deployment_with_redis_down_answers_at_once_and_keeps_its_smoke_run(
    production, target_server, down, monkeypatch
):
    # What Redis being down may cost the request is the quick publish after commit; the rest
    # of the request is the same with Redis up, and on a busy machine alone can pass a second.
    waited: list[float] = []
    publish = outbox_services.outbox_publish_quickly

    def timed(**kwargs: object) -> int:
        started = time.monotonic()
        try:
            return publish(**kwargs)  # type: ignore[arg-type]
        finally:
            waited.append(time.monotonic() - started)

    monkeypatch.setattr(outbox_services, "outbox_publish_quickly", timed)
    with brokers.silent_port() as silent:
        port = silent if down == "silent" else brokers.refused_port()
        with brokers.broker_at(port):
            elapsed, status = record_succeeded()

    assert status == 201
    assert len(waited) == 1
    assert waited[0] < 1.0, f"the publish waited {waited[0]:.2f} s on a Redis that is down"
    # Without the outbox's short timeouts the request hung for 20 s and more.
    assert elapsed < 5.0, f"recording took {elapsed:.2f} s with Redis down"
    deployment = Deployment.objects.get(external_id="ci-7")
    row = OutboxMessage.objects.get()
    assert (row.task, row.kwargs) == (SMOKE_RUN_TASK, {"deployment_id": deployment.pk})
    assert row.published_at is None
    assert row.attempts == 1  # the quick publish tried once and gave up
    assert deployment.health == Deployment.Health.UNKNOWN
    assert target_server.requests == []


@pytest.mark.celery_worker
def test_once_the_broker_is_back_the_relay_gets_the_smoke_run_done(
    production, target_server, celery_worker
):
    with brokers.broker_at(brokers.refused_port()):
        record_succeeded()
    assert OutboxMessage.objects.get().published_at is None

    assert outbox_services.outbox_relay() == 1  # the real Redis, consumed by the worker
    deadline = time.monotonic() + 20
    deployment = Deployment.objects.get(external_id="ci-7")
    while deployment.health_checked_at is None and time.monotonic() < deadline:
        time.sleep(0.05)
        deployment.refresh_from_db()

    assert deployment.health == Deployment.Health.HEALTHY
    assert [r.path for r in target_server.requests] == ["/ok"]
    assert OutboxMessage.objects.get().published_at is not None
