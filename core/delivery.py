"""The one engine that sends deliveries to the outside world (emails, webhooks), each once.

A delivery kind is a model with the fields of core.models.Leased, a status of pending, sent or
failed, an attempts counter, last_error, sent_at and created_at. The app that owns it registers
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

What a dead worker held comes back through `deliveries_sweep`, which beat runs every
HINDSIGHT_DELIVERY_SWEEP_SECONDS (30 s) and which re-enqueues, through the outbox:
- the delivery it had claimed, once the lease has run out (HINDSIGHT_DELIVERY_LEASE_SECONDS,
  120 s);
- the retries it was holding for later (Celery keeps a countdown task in the worker that took
  it), once they are HINDSIGHT_DELIVERY_OVERDUE_SECONDS (120 s) past due. A fan-out that died
  between writing its rows and queueing their tasks is caught the same way.
So the dead worker's work is picked up within lease + one sweep + a quick publish: about 2.5
minutes, instead of Redis's visibility timeout of an hour (hindsight/settings/base.py says why
that timeout stays long).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import plugins
from outbox.services import outbox_enqueue_many

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
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
    """Claim, send and record one delivery. Returns (outcome, error): "sent" or "failed" (now
    or earlier), "busy" (another worker holds it, or it is gone), or "retry" (a transient failure
    was recorded; the caller tries again in `retry_in` seconds). With `final`, or on the kind's
    last attempt, a transient failure is recorded as failed instead."""
    token = _claim(kind, delivery_id)
    if token is None:
        status = _manager(kind).filter(pk=delivery_id).values_list("status", flat=True).first()
        return ("busy" if status in (None, PENDING) else str(status)), ""
    row = kind.load(delivery_id)
    if row is None:
        return "busy", ""  # deleted since the claim (its endpoint or communication went)
    final = final or row.attempts >= kind.max_attempts
    attempt = Attempt(delivery=row, started_at=timezone.now())
    started = time.monotonic()
    try:
        kind.send(attempt)
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


def _claim(kind: DeliveryKind, delivery_id: int) -> str | None:
    now = timezone.now()
    token = f"{_WORKER}:{secrets.token_hex(4)}"
    # Its own transaction, committed before the send (under autocommit, as in a worker; inside
    # a caller's transaction, such as a test's, it is a savepoint instead).
    with transaction.atomic():
        claimed = (
            _manager(kind)
            .filter(pk=delivery_id, status=PENDING)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
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
            .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, due__lt=overdue))
            .order_by("due")
            .values_list("pk", "claimed_by", "attempts")[:SWEEP_BATCH]
        )
        with transaction.atomic():
            ids = []
            for pk, claimed_by, attempts in stale:
                released = manager.filter(pk=pk, status=PENDING, claimed_by=claimed_by).filter(
                    Q(lease_until__isnull=True) | Q(lease_until__lt=now)
                )
                if attempts >= kind.max_attempts:
                    released.update(
                        status=FAILED,
                        claimed_by="",
                        lease_until=None,
                        last_error=f"Gave up after {attempts} attempts.",
                    )
                elif released.update(claimed_by="", lease_until=None, next_attempt_at=now):
                    ids.append(pk)
            outbox_enqueue_many(task=kind.task, kwargs_list=[{"delivery_id": pk} for pk in ids])
        if ids:
            logger.info("Delivery sweep: queued %s %s deliveries again.", len(ids), kind.name)
        queued += len(ids)
    return queued
