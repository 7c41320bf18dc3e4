"""Telling subscribers about maintenance: when a window is scheduled, when it starts, when it ends,
and, to those who heard of it, when its times change or it is called off.

Who hears: whole-page subscribers, and those who chose a component the window affects
(incidents.statuspage.selectors.maintenance_components: the components watching a health check
of the window's service; a window of everything reaches every subscriber). A rescheduled or
cancelled notice goes to the addresses that were sent a notice of the window, and to no one else.

Once each, in two steps, both kept by the database (Redis down changes nothing):
1. The window's row says when each notice was handed to the outbox; a notice is written only by
   a compare-and-set of that column from empty (for a rescheduled one, of schedule_revision), in
   the transaction that writes the outbox row. The scheduled notice is written by
   maintenance_create; the started and finished ones by maintenance_notices_due, which the beat
   runs every minute (running it twice, or two beats at once, hands each over once). A window
   that began and ended between two runs gets the finished notice only.
2. The outbox carries one task per notice (maintenance_notice_send), which makes one Delivery row
   per recipient (unique per window, notice, revision and address) and sends each as a status
   page update's deliveries are sent (incidents.communications.delivery): a second run of the
   task, or of a delivery, finds the rows there and sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.models import Delivery, Maintenance, MaintenanceNotice
from incidents.statuspage.selectors import maintenance_components, subscribers_reached
from outbox.services import outbox_enqueue

# The registered name of incidents.statuspage.tasks.maintenance_notice_send.
NOTICE_TASK = "incidents.tasks.maintenance_notice_send"
FANOUT_BATCH = 1000

Notice = MaintenanceNotice

NOTICE_COLUMN = {
    Notice.SCHEDULED: "scheduled_notice_at",
    Notice.STARTED: "started_notice_at",
    Notice.FINISHED: "finished_notice_at",
}
# Told only to the addresses that heard of the window before.
CORRECTIONS = frozenset({Notice.RESCHEDULED, Notice.CANCELLED})


def _enqueue(maintenance_id: int, notice: Notice, revision: int = 0) -> None:
    kwargs: dict[str, object] = {"maintenance_id": maintenance_id, "notice": str(notice)}
    if revision:
        kwargs["revision"] = revision
    outbox_enqueue(task=NOTICE_TASK, kwargs=kwargs)


def maintenance_notice_schedule(*, maintenance: Maintenance) -> bool:
    """Hand the scheduled notice of a new window to the outbox, once; call in the transaction
    that creates it. True if this call wrote it."""
    return _claim(maintenance.pk, Notice.SCHEDULED, now=timezone.now())


def _claim(maintenance_id: int, notice: Notice, *, now: datetime, **also: object) -> bool:
    column = NOTICE_COLUMN[notice]
    claimed = Maintenance.objects.filter(
        pk=maintenance_id, cancelled_at__isnull=True, **{f"{column}__isnull": True}
    ).update(**{column: now}, **also)
    if claimed:
        _enqueue(maintenance_id, notice)
    return bool(claimed)


def maintenance_announced(*, maintenance: Maintenance) -> bool:
    """Whether subscribers may have heard of the window and not yet of its end: a correction
    is owed to them if it changes."""
    return (
        (maintenance.scheduled_notice_at is not None or maintenance.started_notice_at is not None)
        and maintenance.finished_notice_at is None
        and maintenance.cancelled_at is None
    )


def maintenance_heard_of(*, maintenance: Maintenance) -> bool:
    """Whether a notice of the window was sent to anyone."""
    return Delivery.objects.filter(maintenance=maintenance, status=Delivery.Status.SENT).exists()


def maintenance_notice_reschedule(*, maintenance: Maintenance) -> int:
    """The window's times changed after it was announced: bump its schedule_revision and hand
    one rescheduled notice for that revision to the outbox. Call in the transaction that saves
    the times, with the row locked. Returns the new revision."""
    Maintenance.objects.filter(pk=maintenance.pk).update(
        schedule_revision=F("schedule_revision") + 1
    )
    maintenance.refresh_from_db(fields=["schedule_revision"])
    _enqueue(maintenance.pk, Notice.RESCHEDULED, maintenance.schedule_revision)
    return maintenance.schedule_revision


def maintenance_notice_cancel(*, maintenance: Maintenance, now: datetime) -> bool:
    """Call the window off (kept, shown nowhere) and hand its cancelled notice to the outbox,
    once. True if this call did it."""
    cancelled = Maintenance.objects.filter(pk=maintenance.pk, cancelled_at__isnull=True).update(
        cancelled_at=now
    )
    if cancelled:
        _enqueue(maintenance.pk, Notice.CANCELLED)
    return bool(cancelled)


def maintenance_notices_due(*, now: datetime | None = None) -> int:
    """Hand to the outbox the started and finished notices that are due; returns how many.
    Each window's notice is claimed in its own transaction, so one failure stops no other."""
    now = now or timezone.now()
    written = 0
    live = Maintenance.objects.filter(cancelled_at__isnull=True)
    started = live.filter(
        starts_at__lte=now, ends_at__gt=now, started_notice_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(started):
        with transaction.atomic():
            written += _claim(pk, Notice.STARTED, now=now)
    finished = live.filter(ends_at__lte=now, finished_notice_at__isnull=True).values_list(
        "pk", flat=True
    )
    for pk in list(finished):
        with transaction.atomic():
            # A start never announced stays unannounced: "it has finished" says it all.
            written += _claim(
                pk, Notice.FINISHED, now=now, started_notice_at=Coalesce("started_notice_at", now)
            )
    return written


def _recipients(maintenance: Maintenance, notice: Notice) -> list[str]:
    if notice in CORRECTIONS:
        heard = (
            Delivery.objects.filter(
                maintenance=maintenance,
                channel=Delivery.Channel.EMAIL,
                status=Delivery.Status.SENT,
            )
            .exclude(notice__in=CORRECTIONS)
            .order_by("recipient")
            .values_list("recipient", flat=True)
            .distinct()
        )
        return list(heard)
    if maintenance.cancelled_at is not None:
        return []
    reached = subscribers_reached(components=maintenance_components(maintenance=maintenance))
    return list(reached.order_by("pk").values_list("email", flat=True).iterator(FANOUT_BATCH))


def maintenance_deliveries_create(
    *, maintenance: Maintenance, notice: str, revision: int = 0
) -> list[int]:
    """One Delivery per address that hears this notice; returns the ids of those still
    pending. Safe to run any number of times: rows that exist are kept."""
    notice = Notice(notice)
    recipients = _recipients(maintenance, notice)
    for start in range(0, len(recipients), FANOUT_BATCH):
        # INSERT ... ON CONFLICT DO NOTHING on delivery_notice_once_per_recipient.
        Delivery.objects.bulk_create(
            [
                Delivery(
                    maintenance=maintenance,
                    notice=notice,
                    revision=revision,
                    channel=Delivery.Channel.EMAIL,
                    recipient=email,
                )
                for email in recipients[start : start + FANOUT_BATCH]
            ],
            ignore_conflicts=True,
        )
    return list(
        Delivery.objects.filter(
            maintenance=maintenance,
            notice=notice,
            revision=revision,
            status=Delivery.Status.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
