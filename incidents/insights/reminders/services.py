"""Claiming and sending reminder emails.

The hourly beat task (reminders_due) finds who is due, and claims each reminder by inserting its
Reminder row, unique per (person, kind, period), with the outbox row that asks for the email in
the same transaction: the claim and the request commit together or not at all. Of two runs at
once (a repeated task, a second beat process) one insert wins; the other meets the constraint
and asks for nothing.

The email itself goes out from the outbox's task (reminder_send), which may run more than once:
it locks the row, sends only while the row is pending, and marks it sent in the same
transaction, as the communications' deliveries do. What it lists is read when it is written, so
an item done since the claim is not in it, and a claim with nothing left to say sends nothing.
"""

from __future__ import annotations

import smtplib
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.insights.reminders import emails, selectors
from incidents.models import Reminder
from outbox.services import outbox_enqueue

REMINDERS_DUE_TASK = "incidents.insights.reminders_due"
SEND_TASK = "incidents.insights.reminder_send"
MAX_RETRIES = 6


class ReminderSendError(Exception):
    """The mail server may take it later: a connection error, a timeout, a 4xx answer."""


def reminder_claim(*, person_id: int, kind: str, period: date) -> bool:
    """Claim one reminder and ask for its email; False if it was claimed already."""
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(person_id=person_id, kind=kind, period=period)
            outbox_enqueue(task=SEND_TASK, kwargs={"reminder_id": reminder.pk})
    except IntegrityError:
        return False  # reminder_once_per_period: another run claimed it
    return True


def reminders_due(*, now: datetime | None = None) -> int:
    """Claim the digests (and, on the summary's weekday, the admins' summaries) of everyone whose
    local hour is HINDSIGHT_DIGEST_HOUR at `now`. Returns how many it claimed; a second run in
    the same hour claims none."""
    now = now or timezone.now()
    claimed = 0
    for zone, today in selectors.zones_at_hour(
        now=now, hour=settings.HINDSIGHT_DIGEST_HOUR
    ).items():
        for person_id in selectors.digest_recipients(zone=zone, today=today).values_list(
            "pk", flat=True
        ):
            claimed += reminder_claim(person_id=person_id, kind=Reminder.Kind.DIGEST, period=today)
        if today.weekday() == settings.HINDSIGHT_SUMMARY_WEEKDAY:
            week = today - timedelta(days=today.weekday())
            for person_id in selectors.summary_recipients(zone=zone).values_list("pk", flat=True):
                claimed += reminder_claim(
                    person_id=person_id, kind=Reminder.Kind.SUMMARY, period=week
                )
    return claimed


def _written(reminder: Reminder) -> tuple[EmailMultiAlternatives | None, int]:
    """The email as things are now, and how many rows it lists; None when there is nothing to
    say or the person no longer wants it."""
    person = reminder.person
    if not selectors.reminded_people().filter(pk=person.pk).exists():
        return None, 0  # turned reminders off, left, or lost their address since the claim
    if reminder.kind == Reminder.Kind.DIGEST:
        items = selectors.digest_items(person=person, today=reminder.period)
        listed = selectors.Listed(
            rows=list(items[: selectors.DIGEST_ITEMS_SHOWN]), count=items.count()
        )
        if not listed.count:
            return None, 0
        return emails.digest_message(reminder=reminder, items=listed), listed.count
    summary = selectors.weekly_summary(now=timezone.now())
    if summary.empty:
        return None, 0
    total = summary.blocking.count + summary.stale_reviews.count + summary.unpublished.count
    return emails.summary_message(reminder=reminder, summary=summary), total


def reminder_send(*, reminder_id: int, final: bool = False) -> str:
    """Send a claimed reminder unless it went out, was skipped, or another worker is sending
    it right now. Returns what happened ("sent", "skipped", "busy", ...). Raises
    ReminderSendError when a later try may succeed, after recording this one; with `final` it
    records a failure instead."""
    outcome, error = _attempt(reminder_id, final=final)
    if outcome == "retry":
        raise ReminderSendError(error)
    return outcome


@transaction.atomic
def _attempt(reminder_id: int, *, final: bool) -> tuple[str, str]:
    reminder = (
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("person")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None:
        return "busy", ""  # another worker holds it, or it is gone
    if reminder.status != Reminder.Status.PENDING:
        return str(reminder.status), ""
    message, listed = _written(reminder)
    reminder.listed = listed
    if message is None:
        _record(reminder, Reminder.Status.SKIPPED, "")
        return "skipped", ""
    reminder.attempts += 1
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPResponseException as error:
        text = f"The mail server answered {error.smtp_code}: {error.smtp_error!r}"
        if 400 <= error.smtp_code < 500 and not final:
            _record(reminder, Reminder.Status.PENDING, text)
            return "retry", text
        _record(reminder, Reminder.Status.FAILED, text)
        return "failed", text
    except (smtplib.SMTPException, OSError) as error:
        text = f"{type(error).__name__}: {error}"
        _record(reminder, Reminder.Status.FAILED if final else Reminder.Status.PENDING, text)
        return ("failed" if final else "retry"), text
    reminder.sent_at = timezone.now()
    _record(reminder, Reminder.Status.SENT, "")
    return "sent", ""


def _record(reminder: Reminder, status: str, error: str) -> None:
    reminder.status = status
    reminder.last_error = error[:500]
    reminder.save(update_fields=["status", "listed", "attempts", "last_error", "sent_at"])
