"""The one engine that sends deliveries to the outside world (emails, webhooks), each once.

A delivery kind is a model with the fields of core.models.Leased, a status of pending, sent or
failed, an attempts counter, last_error, sent_at and created_at. A kind whose message is written
when it goes out, and may by then have nothing left to say (a reminder whose items were done),
raises NothingToSend from its send: the row ends "skipped" (its model has that status too),
nothing is sent and nothing retried. The app that owns it registers
it (core.plugins.delivery_kind_register) with the function that sends one row. Every send then
runs three steps, each committed on its own:

1. **Claim.** Compare-and-set the row from pending and unclaimed (or claimed under a lease that
   has run out) to claimed by this worker until now + the lease, counting the attempt. It is
   committed before anything leaves, so every other worker and the sweep see who is sending it.
2. **Send**, with no transaction open and no row lock held.
3. **Record.** Compare-and-set the outcome onto the row while the claim is still ours, and
   release the claim. Committed right after the send.

A worker killed at any instant therefore holds at most one delivery that is claimed and not yet
recorded: the one in flight. If the far side had already accepted it, that one message goes out
twice; every other delivery is recorded as sent, or still pending and sent once later. A task
that runs again (acks_late, or Redis handing an old message back an hour later) finds the row
sent, or claimed by a live worker, and sends nothing.

Who is alive: on PostgreSQL a worker also holds the delivery's advisory lock (session level)
from before its claim until after its record. The server frees it the instant a killed worker's
connection drops, so a task that finds a claimed row whose lock is free takes it over at once
(Redis handing the dead worker's message back, or the sweep's task). The lease (the row's
lease_until) is the rule where no such lock exists (SQLite) and for a worker that hangs, alive,
past it.

What a dead worker held comes back through `deliveries_sweep`, which beat runs every
HINDSIGHT_DELIVERY_SWEEP_SECONDS (30 s) and which re-enqueues, through the outbox:
- the delivery it had claimed: at once when its lock is free, or when its lease
  (HINDSIGHT_DELIVERY_LEASE_SECONDS, 120 s) has run out;
- the retries it was holding for later (Celery keeps a countdown task in the worker that took
  it), once they are HINDSIGHT_DELIVERY_OVERDUE_SECONDS (120 s) past due. A fan-out that died
  between writing its rows and queueing their tasks is caught the same way.
So the in-flight delivery of a dead worker goes out again within one sweep (30 s) on
PostgreSQL, and within lease + sweep (2.5 min) at worst; its held retries within 2.5 min of
falling due. Redis's visibility timeout alone took an hour (hindsight/settings/base.py says why
it stays that long).

The lease needs no renewal because one send is bounded well below it: a webhook has a total
timeout of 10 s (incidents.communications.delivery.WEBHOOK_TIMEOUT), and an email sees
EMAIL_TIMEOUT (10 s) per SMTP step, about eight steps, so 80 s at worst. Should a send still
outlast its lease, recording it stays safe: it is written unless another worker has claimed it
since, and is logged either way.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import plugins
from outbox.services import outbox_enqueue_many

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
# How many deliveries of each kind one sweep hands back at most. A backlog that waits in the
# queue longer than the overdue time is swept too (a task that finds its row sent costs one
# query); the cap keeps that to a trickle.
SWEEP_BATCH = 500
ERROR_KEPT = 500
# Who holds a claim: readable in the admin, unique per attempt so a worker never mistakes a
# claim it made earlier (and lost) for the one it holds now.
_WORKER = f"{socket.gethostname()}:{os.getpid()}"[:80]


class TransientDeliveryError(Exception):
    """Worth trying again later: a connection error, a timeout, a 4xx SMTP or 5xx HTTP answer."""


class PermanentDeliveryError(Exception):
    """Trying again cannot help: a refused address, a 4xx HTTP answer, a blocked URL."""


class NothingToSend(Exception):
    """The delivery ends unsent, by design: what it would say is no longer true. Its message is
    kept as the row's last_error, so the admin tells why."""


@dataclass
class Attempt:
    """One try at sending a delivery, filled in by the kind's `send` and written by the
    recording step."""

    delivery: Any
    started_at: datetime
    status: str = PENDING
    error: str = ""
    duration_ms: int = 0
    # More columns of the delivery's row to write with the outcome (a webhook's status code).
    fields: dict[str, Any] = field(default_factory=dict)
    # What an HTTP receiver answered, for kinds that log it.
    status_code: int | None = None
    answer: str = ""


@dataclass(frozen=True)
class DeliveryKind:
    """One kind of delivery: its model, the Celery task (by registered name, called with
    `delivery_id`) that sends one, and how to load, send and record one."""

    name: str
    model: type[models.Model]
    task: str
    # The row with what sending needs (select_related), or None when it is gone.
    load: Callable[[int], Any]
    # Sends attempt.delivery; raises TransientDeliveryError or PermanentDeliveryError.
    send: Callable[[Attempt], None]
    # More writes in the recording transaction (a webhook's attempt log); optional.
    record: Callable[[Attempt], None] | None = None
    # Claims that ended with the worker gone count as attempts too; past this many, a delivery
    # is failed rather than handed back again (a message that kills every worker that sends it).
    max_attempts: int = 11


def _lease() -> timedelta:
    return timedelta(seconds=settings.HINDSIGHT_DELIVERY_LEASE_SECONDS)


def _manager(kind: DeliveryKind) -> models.Manager[Any]:
    return kind.model._default_manager


def delivery_attempt(
    *, kind: DeliveryKind, delivery_id: int, retry_in: float, final: bool = False
) -> tuple[str, str]:
    """Claim, send and record one delivery. Returns (outcome, error): "sent", "failed" or
    "skipped" (now or earlier), "busy" (another worker holds it, or it is gone), or "retry" (a transient failure
    was recorded; the caller tries again in `retry_in` seconds). With `final`, or on the kind's
    last attempt, a transient failure is recorded as failed instead."""
    locked = _lock(kind, delivery_id)
    try:
        token = _claim(kind, delivery_id, locked=locked)
        if token is None:
            status = _manager(kind).filter(pk=delivery_id).values_list("status", flat=True).first()
            return ("busy" if status in (None, PENDING) else str(status)), ""
        return _send_and_record(kind, delivery_id, token, retry_in=retry_in, final=final)
    finally:
        if locked:
            _unlock(kind, delivery_id)


def delivery_attempt_or_retry(
    *, kind: DeliveryKind, delivery_id: int, retry_in: float, final: bool = False
) -> str:
    """delivery_attempt for a send task: its outcome ("sent", "failed", "busy", ...), or
    TransientDeliveryError when a retry is due in `retry_in` seconds (the attempt is recorded
    either way), so the task can hand the retry to Celery."""
    outcome, error = delivery_attempt(
        kind=kind, delivery_id=delivery_id, retry_in=retry_in, final=final
    )
    if outcome == "retry":
        raise TransientDeliveryError(error)
    return outcome


def _send_and_record(
    kind: DeliveryKind, delivery_id: int, token: str, *, retry_in: float, final: bool
) -> tuple[str, str]:
    row = kind.load(delivery_id)
    if row is None:
        return "busy", ""  # deleted since the claim (its endpoint or communication went)
    final = final or row.attempts >= kind.max_attempts
    attempt = Attempt(delivery=row, started_at=timezone.now())
    started = time.monotonic()
    try:
        kind.send(attempt)
    except NothingToSend as reason:
        attempt.status, attempt.error = SKIPPED, str(reason)
    except PermanentDeliveryError as error:
        attempt.status, attempt.error = FAILED, str(error)
    except TransientDeliveryError as error:
        attempt.status, attempt.error = (FAILED if final else PENDING), str(error)
    except Exception as error:
        # A fault of ours, not the far side's: recorded as failed, so it is neither lost in a
        # log nor handed back by the sweep for ever, and raised for the worker's log.
        attempt.status, attempt.error = FAILED, f"{type(error).__name__}: {error}"
        attempt.duration_ms = round((time.monotonic() - started) * 1000)
        _record(kind, token, attempt, retry_in=retry_in)
        raise
    else:
        attempt.status = SENT
    attempt.duration_ms = round((time.monotonic() - started) * 1000)
    _record(kind, token, attempt, retry_in=retry_in)
    if attempt.status == PENDING:
        return "retry", attempt.error
    return attempt.status, attempt.error


def _lock_key(kind: DeliveryKind, delivery_id: int) -> int:
    # One bigint per (kind, row): 15 bits of the kind's name above 48 bits of the row's id.
    return ((zlib.crc32(kind.name.encode()) & 0x7FFF) << 48) | (delivery_id & (2**48 - 1))


def _lock(kind: DeliveryKind, delivery_id: int) -> bool:
    """Take the delivery's advisory lock (PostgreSQL) for as long as this worker sends it. It
    lives with the session, so the server frees it the moment a killed worker's connection
    drops: a claim whose lock is free belongs to a dead worker, and can be taken over at once
    rather than when its lease runs out. False where there is no such lock (SQLite)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(kind, delivery_id)])
        return bool(cursor.fetchone()[0])


def _unlock(kind: DeliveryKind, delivery_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(kind, delivery_id)])


def _claimable(now: datetime, *, locked: bool) -> Q:
    if locked:
        # The lock is ours, so whoever claimed it before us is gone.
        return Q(status=PENDING)
    if connection.vendor == "postgresql":
        # A live worker holds the lock (it may be between taking it and claiming, or between
        # recording and letting go): only a lease that ran out is ours to take.
        return Q(status=PENDING, lease_until__lt=now)
    return Q(status=PENDING) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def _claim(kind: DeliveryKind, delivery_id: int, *, locked: bool) -> str | None:
    now = timezone.now()
    token = f"{_WORKER}:{secrets.token_hex(4)}"
    # Its own transaction, committed before the send (under autocommit, as in a worker; inside
    # a caller's transaction, such as a test's, it is a savepoint instead).
    with transaction.atomic():
        claimed = (
            _manager(kind)
            .filter(_claimable(now, locked=locked), pk=delivery_id)
            .update(claimed_by=token, lease_until=now + _lease(), attempts=F("attempts") + 1)
        )
    return token if claimed else None


def _record(kind: DeliveryKind, token: str, attempt: Attempt, *, retry_in: float) -> bool:
    now = timezone.now()
    values: dict[str, Any] = {
        "status": attempt.status,
        "last_error": attempt.error[:ERROR_KEPT],
        "claimed_by": "",
        "lease_until": None,
        # When the retry is due; the sweep hands it back if no worker has tried by then.
        "next_attempt_at": now + timedelta(seconds=retry_in) if attempt.status == PENDING else None,
        **attempt.fields,
    }
    if attempt.status == SENT:
        values["sent_at"] = now
    pk = attempt.delivery.pk
    with transaction.atomic():
        # Still ours, or released by the sweep after our lease ran out and not claimed since:
        # then what we did is the truth, and a task the sweep queued will find it recorded.
        recorded = (
            _manager(kind)
            .filter(pk=pk, status=PENDING)
            .filter(Q(claimed_by=token) | Q(claimed_by=""))
            .update(**values)
        )
        if recorded and kind.record is not None:
            kind.record(attempt)
    if not recorded:
        logger.warning(
            "Delivery %s %s was %s after its lease ran out and another worker claimed it; it "
            "may go out twice.",
            kind.name,
            pk,
            attempt.status,
        )
    return bool(recorded)


def _holder_gone(kind: DeliveryKind, delivery_id: int) -> bool:
    """Whether the worker that claimed this delivery is dead: its advisory lock is free."""
    if not _lock(kind, delivery_id):
        return False
    _unlock(kind, delivery_id)
    return True


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Hand back to the queue what no live worker holds: deliveries whose claim's lease ran out
    (their worker died mid-send) and pending ones long past due (retries a dead worker held, a
    fan-out that died before queueing). Returns how many it queued. Safe to run concurrently or
    repeatedly: each row is released by compare-and-set, and a task for a row that is sent by
    then sends nothing."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.HINDSIGHT_DELIVERY_OVERDUE_SECONDS)
    queued = 0
    for kind in plugins.delivery_kinds():
        manager = _manager(kind)
        stale = (
            manager.filter(status=PENDING)
            .annotate(due=Coalesce("next_attempt_at", "created_at"))
            .filter(
                Q(lease_until__lt=now)
                | Q(lease_until__isnull=True, due__lt=overdue)
                # Claimed under a live lease: the lock tells whether its worker is alive.
                | (Q(lease_until__isnull=False) if connection.vendor == "postgresql" else Q())
            )
            .order_by("due")
            .values_list("pk", "claimed_by", "lease_until", "attempts")[:SWEEP_BATCH]
        )
        with transaction.atomic():
            ids = []
            for pk, claimed_by, lease_until, attempts in stale:
                claimed = lease_until is not None
                if claimed and not _holder_gone(kind, pk):
                    if lease_until >= now:
                        continue  # a live worker is sending it
                    if connection.vendor == "postgresql":
                        # Alive but past its lease (hung on the far side): a task takes the
                        # claim over by the lease's rule, which needs the claim left in place.
                        ids.append(pk)
                        continue
                row = manager.filter(
                    pk=pk, status=PENDING, claimed_by=claimed_by, lease_until=lease_until
                )
                if claimed and attempts >= kind.max_attempts:
                    row.update(
                        status=FAILED,
                        claimed_by="",
                        lease_until=None,
                        last_error=f"Gave up after {attempts} attempts.",
                    )
                elif row.update(claimed_by="", lease_until=None, next_attempt_at=now):
                    ids.append(pk)
            outbox_enqueue_many(task=kind.task, kwargs_list=[{"delivery_id": pk} for pk in ids])
        if ids:
            logger.info("Delivery sweep: queued %s %s deliveries again.", len(ids), kind.name)
        queued += len(ids)
    return queued
