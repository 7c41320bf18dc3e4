"""When Redis comes back, the outbox drains: every task the writes queued while it was down runs
once, none lost and none twice.

Every write of the table (tests/reliability/write_routes.py) is sent in turn on one world with
Redis refused, each answering within a second (test_redis_down_writes.py times each with Redis
wedged); then Redis is back, the relay publishes what waited, and a real Celery worker runs it. Each carried task's first run is counted by its name and arguments and
must match the outbox's rows one for one, also a moment later (nothing runs twice).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery.signals import task_prerun
from django.conf import settings

from core import plugins, redis_pause
from outbox.models import OutboxMessage
from outbox.services import outbox_relay
from tests.reliability.redis_down import redis_down, warm_up
from tests.reliability.write_routes import WALKED
from tests.reliability.writes import refusal, world_build

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    # "Within a second", and a worker: one at a time with the group that needs quiet.
    pytest.mark.xdist_group("one-at-a-time"),
]

Key = tuple[str, str]


def key(task: str, kwargs: dict) -> Key:
    return task, json.dumps(kwargs, sort_keys=True)


@pytest.fixture
def quiet_queue() -> None:
    """Before the worker starts: nothing an earlier test of this pytest worker published and
    nobody ran is left in its queue, for the worker would run it too and count it here. The
    whole database number, not only the queue: a worker process an earlier test killed leaves
    its unacknowledged messages in a hash beside it, and Redis hands them out again later."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture
def first_runs() -> Iterator[Counter[Key]]:
    """The carried tasks the worker started, each counted on its first try (a retry of a
    failed webhook delivery is the same task going on, not a second one)."""
    runs: Counter[Key] = Counter()

    def record(task: Any = None, kwargs: dict | None = None, **_: Any) -> None:
        if plugins.outbox_carries(task.name) and not task.request.retries:
            runs[key(task.name, kwargs or {})] += 1

    task_prerun.connect(record, weak=False)
    yield runs
    task_prerun.disconnect(record)


def queued() -> Counter[Key]:
    return Counter(
        key(task, kwargs) for task, kwargs in OutboxMessage.objects.values_list("task", "kwargs")
    )


def drained(runs: Counter[Key], timeout: float = 30.0) -> None:
    """Relay until every outbox row is published and has run once (a task may queue more)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox_relay()
        if runs == queued() and not OutboxMessage.objects.filter(published_at=None).exists():
            return
        time.sleep(0.1)
    missing, extra = queued() - runs, runs - queued()
    pytest.fail(f"not drained in {timeout:.0f} s: never ran {missing}; ran unqueued {extra}")


def test_when_redis_is_back_every_task_the_writes_queued_runs_once(
    quiet_queue, first_runs, celery_worker, monkeypatch
):
    world = world_build()
    warm_up(world)
    drained(first_runs)  # what building the world queued, with Redis up
    before = set(OutboxMessage.objects.values_list("pk", flat=True))

    # Refused, the quick way down: test_redis_down_writes.py times each write with Redis wedged.
    slow = {}
    with redis_down("refused", monkeypatch):
        for write in WALKED:
            started = time.monotonic()
            response = write.send(world)
            elapsed = time.monotonic() - started
            answered = 200 <= response.status_code < 300 or response.status_code == 302
            assert answered, f"{write}: {response.status_code} {response.content[:500]!r}"
            assert not refusal(response), f"{write}: {refusal(response)}"
            if elapsed >= 1.0:
                slow[str(write)] = round(elapsed, 2)
    assert not slow, f"writes slower than a second with Redis refused: {slow}"
    waiting = OutboxMessage.objects.exclude(pk__in=before)
    assert waiting.count() >= len(WALKED) / 2, "the walk queued next to nothing"
    assert not waiting.exclude(published_at=None).exists()

    # Redis is back, and the pause after its failure (core.redis_pause) has run out.
    monkeypatch.setattr(redis_pause, "_paused_until", 0.0)
    drained(first_runs)
    time.sleep(1.0)  # a task published twice would have started by now
    assert first_runs == queued()
    assert outbox_relay() == 0
