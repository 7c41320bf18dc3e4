"""Claiming and sending reminder emails.

The hourly beat task (reminders_due) finds who is due since its previous run (a run that was
missed is caught up by the next one of the same local day), and claims each reminder by inserting its
Reminder row, unique per (person, kind, period), with the outbox row that asks for the email in
the same transaction: the claim and the request commit together or not at all. Of two runs at
once (a repeated task, a second beat process) one insert wins; the other meets the constraint
and asks for nothing.

The email itself is a delivery of the one delivery engine (core/delivery.py), sent by the
outbox's task (reminder_send): claimed under a lease and committed, sent with no transaction
open, recorded right after. A task that runs again finds it sent or held; a worker killed
mid-send leaves at most that one email to go out twice (with the same Message-ID, so mail
systems drop the copy), and the engine's sweep hands it to another worker within a minute or
two rather than when Redis gives the task back an hour later. What it lists is read when it is
written, so an item done since the claim is not in it, and a claim with nothing left to say
ends "skipped", unsent.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.delivery import (
    Attempt,
    DeliveryKind,
    NothingToSend,
    delivery_attempt_or_retry,
)
from incidents.communications.delivery import email_send
from incidents.insights.reminders import emails, selectors
from incidents.models import Reminder, ReminderRun
from outbox.services import outbox_enqueue

REMINDERS_DUE_TASK = "incidents.insights.reminders_due"
SEND_TASK = "incidents.insights.reminder_send"
MAX_RETRIES = 6

# Retries after 1, 2, 4 ... 32 minutes: a mail server away for an hour is waited out.
RETRY_FIRST_DELAY = 60.0


def reminder_claim(*, person_id: int, kind: str, period: date) -> bool:
    """Claim one reminder and ask for its email; False if it was claimed already."""
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(person_id=person_id, kind=kind, period=period)
            outbox_enqueue(task=SEND_TASK, kwargs={"delivery_id": reminder.pk})
    except IntegrityError:
        return False  # reminder_once_per_period: another run claimed it
    return True


def reminders_due(*, now: datetime | None = None) -> int:
    """Claim the digests (and the admins' summaries) of everyone whose local
    HINDSIGHT_DIGEST_HOUR (on HINDSIGHT_SUMMARY_WEEKDAY for a summary) passed since the previous
    run, on the local day (or week) it is now. Returns how many it claimed.

    The previous run's moment is kept in ReminderRun, locked for the run: two runs at once (a
    repeated task, a second beat process) take turns, and the second finds nothing left. Without
    a previous run (the first ever) the hour before `now` counts, as a beat on time would have
    it. A run late by hours, because the beat or every worker was down at the hour, claims what
    that hour would have, still once per person and period (the claim's unique row)."""
    now = now or timezone.now()
    claimed = 0
    with transaction.atomic():
        run, made = ReminderRun.objects.select_for_update().get_or_create(
            pk=ReminderRun.ONE, defaults={"covered_until": now}
        )
        since = now - timedelta(hours=1) if made else run.covered_until
        if since >= now:
            return 0  # a run at the same moment, or one from a clock behind, covered it
        due = selectors.reminders_due_between(
            since=since,
            now=now,
            hour=settings.HINDSIGHT_DIGEST_HOUR,
            weekday=settings.HINDSIGHT_SUMMARY_WEEKDAY,
        )
        for zone, today in due.digests.items():
            for person_id in selectors.digest_recipients(zone=zone, today=today).values_list(
                "pk", flat=True
            ):
                claimed += reminder_claim(
                    person_id=person_id, kind=Reminder.Kind.DIGEST, period=today
                )
        for zone, week in due.summaries.items():
            for person_id in selectors.summary_recipients(zone=zone).values_list("pk", flat=True):
                claimed += reminder_claim(
                    person_id=person_id, kind=Reminder.Kind.SUMMARY, period=week
                )
        if not made:
            ReminderRun.objects.filter(pk=run.pk).update(covered_until=now)
    return claimed


def _written(reminder: Reminder) -> tuple[EmailMultiAlternatives, int]:
    """The email as things are now, and how many rows it lists. NothingToSend when there is
    nothing to say or the person no longer wants it."""
    person = reminder.person
    if not selectors.reminded_people().filter(pk=person.pk).exists():
        # Turned reminders off, left, or lost their address since the claim.
        raise NothingToSend("The person no longer takes reminder emails.")
    if reminder.kind == Reminder.Kind.DIGEST:
        items = selectors.digest_items(person=person, today=reminder.period)
        listed = selectors.Listed(
            rows=list(items[: selectors.DIGEST_ITEMS_SHOWN]), count=items.count()
        )
        if not listed.count:
            raise NothingToSend("Nothing was left to list: the items were done or moved.")
        return emails.digest_message(reminder=reminder, items=listed), listed.count
    summary = selectors.weekly_summary(now=timezone.now())
    if summary.empty:
        raise NothingToSend("Nothing was left to list.")
    total = summary.blocking.count + summary.stale_reviews.count + summary.unpublished.count
    return emails.summary_message(reminder=reminder, summary=summary), total


def _load(reminder_id: int) -> Reminder | None:
    return Reminder.objects.select_related("person").filter(pk=reminder_id).first()


def _send(attempt: Attempt) -> None:
    reminder: Reminder = attempt.delivery
    # Written with the outcome: 0 when nothing was sent.
    attempt.fields["listed"] = 0
    message, listed = _written(reminder)
    attempt.fields["listed"] = listed
    email_send(message)


KIND = DeliveryKind(
    name="reminders",
    model=Reminder,
    task=SEND_TASK,
    load=_load,
    send=_send,
    max_attempts=MAX_RETRIES + 1,
)


def reminder_retry_delay(retries: int) -> float:
    return RETRY_FIRST_DELAY * 2**retries


def reminder_send(*, reminder_id: int, final: bool = False, retry_in: float | None = None) -> str:
    """Send a claimed reminder unless it went out, was skipped, failed, or another worker is
    sending it right now (the engine: core.delivery). Returns what happened ("sent", "skipped",
    "busy", ...). Raises TransientDeliveryError when a later try may succeed, after recording
    this one and that the retry is due in `retry_in` seconds; with `final` it records a failure
    instead."""
    return delivery_attempt_or_retry(
        kind=KIND,
        delivery_id=reminder_id,
        final=final,
        retry_in=reminder_retry_delay(0) if retry_in is None else retry_in,
    )
