"""The outbox's own rules: what it carries and how long it keeps what it published. (Publishing
through eager tasks, Redis and a real worker: tests/incidents/test_delivery.py,
tests/reliability/test_outbox.py and tests/deployments/test_smoke_run_outbox.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from core import redis_pause
from deployments.services.probes import SMOKE_RUN_TASK
from hindsight.celery import app
from incidents.communications.delivery import DELIVER_TASK
from outbox import services as outbox_services
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_the_outbox_carries_only_the_tasks_an_app_registered():
    with pytest.raises(ValueError, match=r"does not carry 'os\.system'"):
        outbox_services.outbox_enqueue(task="os.system", kwargs={})
    row = OutboxMessage.objects.create(task="os.system", kwargs={})
    with pytest.raises(ValueError, match="does not carry"):
        outbox_services.outbox_publish(message=row)


def test_both_apps_registered_their_tasks_under_their_real_names():
    for name in (DELIVER_TASK, SMOKE_RUN_TASK):
        outbox_services._check_carried(name)
        assert app.tasks[name].name == name


def test_task_names_stay_as_first_published_when_the_code_moves():
    # Rows written and messages queued before an upgrade name tasks by these strings.
    for name in (
        "incidents.tasks.communication_deliver",
        "incidents.tasks.delivery_send",
        "incidents.tasks.incident_rerender_markdown",
        "deployments.tasks.deployment_smoke_run",
        "deployments.tasks.service_probe",
        "deployments.tasks.health_dispatch",
        "deployments.tasks.health_results_roll_up",
    ):
        assert name in app.tasks, name


def test_the_relay_forgets_published_rows_after_a_week():
    old = OutboxMessage.objects.create(
        task=DELIVER_TASK,
        kwargs={"communication_id": 0},
        published_at=timezone.now() - timedelta(days=8),
    )
    recent = OutboxMessage.objects.create(
        task=DELIVER_TASK,
        kwargs={"communication_id": 0},
        published_at=timezone.now() - timedelta(days=6),
    )
    outbox_services.outbox_relay()
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk


def written(seconds_ago: float, *, attempts: int = 0) -> OutboxMessage:
    row = OutboxMessage.objects.create(
        task=DELIVER_TASK, kwargs={"communication_id": 0}, attempts=attempts
    )
    at = timezone.now() - timedelta(seconds=seconds_ago)
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=at)
    return row


@pytest.fixture
def relayed(monkeypatch) -> Iterator[list[int]]:
    """What the relay publishes, with a broker (not eager), by row id."""
    published: list[int] = []

    def publish(*, message: OutboxMessage, connection: object = None) -> bool:
        published.append(message.pk)
        return True

    monkeypatch.setattr(outbox_services, "outbox_publish", publish)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    yield published
    app.conf.task_always_eager = eager


def test_the_relay_leaves_a_row_just_written_to_its_quick_publish(relayed):
    # Both publishing it would run its task twice (seen in a worker's fan-out of deliveries).
    grace = outbox_services.QUICK_PUBLISH_GRACE_SECONDS
    just_now = written(grace / 2)
    waited = written(grace + 1)
    gave_up = written(0, attempts=1)

    outbox_services.outbox_relay()

    assert relayed == [waited.pk, gave_up.pk]
    assert just_now.pk not in relayed


def test_rows_a_paused_process_does_not_publish_are_the_relays_at_once(relayed, monkeypatch):
    monkeypatch.setattr(redis_pause, "_paused_until", time.monotonic() + 60)
    rows = [written(0), written(0)]

    assert outbox_services.outbox_publish_quickly(ids=[row.pk for row in rows]) == 0
    outbox_services.outbox_relay()

    assert relayed == [row.pk for row in rows]
    assert all("Redis failed a moment ago" in r.last_error for r in OutboxMessage.objects.all())
