"""Writing to the outbox and publishing from it.

`outbox_enqueue` records a task inside the caller's transaction. After commit one quick publish
is tried with a hard timeout of a fraction of a second, so a request never waits on a broker that
is down or wedged; whatever it could not publish, the beat's relay publishes later. One write can
queue several tasks in several transactions (the change, its search refresh, its webhooks), each
with a quick publish of its own: after a failure the process leaves publishing to the relay for a
while (core.redis_pause), so a wedged Redis costs a request one timeout, not one per task. A row is
marked published by compare-and-set after the publish, so a crash in between publishes it
again: every carried task must therefore be idempotent, as the house rules ask of all tasks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import plugins
from core.redis_pause import redis_pause, redis_paused
from outbox.models import OutboxMessage

if TYPE_CHECKING:
    from kombu import Connection

logger = logging.getLogger(__name__)

# The quick publish after commit gives up after this many seconds per socket operation.
QUICK_PUBLISH_TIMEOUT = 0.25
RELAY_BATCH = 100
PUBLISHED_KEPT_DAYS = 7
# A row no quick publish has tried yet may be being published by one right now (in a worker's
# fan-out, say): the relay leaves it alone this long after it was written, or both publish it
# and its task runs twice. Rows a quick publish gave up on, or skipped, are the relay's at once.
QUICK_PUBLISH_GRACE_SECONDS = 5.0


def _check_carried(task: str) -> None:
    # The tasks a row may name are registered by the apps that own them (core.plugins).
    if not plugins.outbox_carries(task):
        raise ValueError(f"The outbox does not carry {task!r}; register it with outbox_carry.")


def outbox_enqueue(*, task: str, kwargs: dict) -> OutboxMessage:
    """Record a task to publish; call inside the transaction that needs it."""
    _check_carried(task)
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    transaction.on_commit(partial(outbox_publish_quickly, ids=[message.pk]))
    return message


def outbox_enqueue_many(*, task: str, kwargs_list: list[dict]) -> list[OutboxMessage]:
    """outbox_enqueue for many messages of one task, in one INSERT (a bulk write's deliveries),
    and one quick publish of them all after commit."""
    _check_carried(task)
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task, kwargs=kwargs) for kwargs in kwargs_list]
    )
    if messages:
        ids = [message.pk for message in messages]
        transaction.on_commit(partial(outbox_publish_quickly, ids=ids))
    return messages


def outbox_publish(*, message: OutboxMessage, connection: Connection | None = None) -> bool:
    """Publish one row's task, then mark the row published; False if another publisher had
    marked it first (the task then went out twice, which its idempotence absorbs). Raises
    whatever the broker raised."""
    _check_carried(message.task)
    # By registered name, not import path: a name is the contract with rows already written and
    # messages already queued, and stays put when the code moves.
    task = current_app.tasks[message.task]
    if connection is None:
        task.apply_async(kwargs=message.kwargs, ignore_result=True)
    else:
        task.apply_async(  # type: ignore[call-arg]  # celery-types omit the documented `connection`
            kwargs=message.kwargs, connection=connection, retry=False, ignore_result=True
        )
    return bool(
        OutboxMessage.objects.filter(pk=message.pk, published_at__isnull=True).update(
            published_at=timezone.now()
        )
    )


def _failed(message: OutboxMessage, error: Exception) -> None:
    _left_to_the_relay([message.pk], f"{type(error).__name__}: {error}")


def _left_to_the_relay(ids: list[int], why: str) -> None:
    """Counted as tried, so the relay takes the rows at once (QUICK_PUBLISH_GRACE_SECONDS)."""
    OutboxMessage.objects.filter(pk__in=ids, published_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=why[:500]
    )


def outbox_publish_quickly(*, ids: list[int]) -> int:
    """One short try right after commit; never raises and never blocks long. Returns how many
    rows it published. Without a broker (eager mode) the tasks simply run here."""
    app = current_app
    eager = app.conf.task_always_eager
    if not eager and redis_paused():
        _left_to_the_relay(ids, "Not tried: Redis failed a moment ago (core.redis_pause).")
        return 0
    rows = list(OutboxMessage.objects.filter(pk__in=ids, published_at__isnull=True))
    published = 0
    current = None
    try:
        if eager:
            for current in rows:
                published += outbox_publish(message=current)
            return published
        quick = {
            "socket_timeout": QUICK_PUBLISH_TIMEOUT,
            "socket_connect_timeout": QUICK_PUBLISH_TIMEOUT,
            "max_retries": 0,
        }
        with app.connection_for_write(
            connect_timeout=QUICK_PUBLISH_TIMEOUT, transport_options=quick
        ) as connection:
            for current in rows:
                published += outbox_publish(message=current, connection=connection)
    except Exception as error:  # the relay retries; the request that wrote it must not fail
        if not eager:
            redis_pause()
        if current is not None:
            _failed(current, error)
        # The rest of the batch waits for the relay too, which need not wait to take them.
        others = [pk for pk in ids if current is None or pk != current.pk]
        _left_to_the_relay(others, f"Not tried: the quick publish failed on another row: {error}")
        logger.warning("Outbox: quick publish failed, the relay will retry: %s", error)
    return published


def outbox_relay(*, limit: int = RELAY_BATCH) -> int:
    """Publish unpublished rows, oldest first, until the broker refuses one; forget published
    rows after a week. Returns how many it published. A row naming a task nobody carries (say,
    one an older version wrote) is left for the admin to see rather than blocking the queue."""
    published = 0
    waiting = OutboxMessage.objects.filter(
        published_at__isnull=True, task__in=sorted(plugins.outbox_carried())
    )
    if not current_app.conf.task_always_eager:  # eager, the quick publish ran them at commit
        just_written = timezone.now() - timedelta(seconds=QUICK_PUBLISH_GRACE_SECONDS)
        waiting = waiting.exclude(attempts=0, created_at__gt=just_written)
    for message in waiting.order_by("id")[:limit]:
        try:
            published += outbox_publish(message=message)
        except Exception as error:
            _failed(message, error)
            logger.warning("Outbox: relay could not publish %s: %s", message.pk, error)
            break  # the broker is down; the next beat tries again
    cutoff = timezone.now() - timedelta(days=PUBLISHED_KEPT_DAYS)
    OutboxMessage.objects.filter(published_at__lt=cutoff).delete()
    return published
