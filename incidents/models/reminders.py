"""Reminder emails: one row per person, kind and period, claimed before anything is sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import Leased


class Reminder(Leased):
    """One reminder email to one person for one period (incidents.insights.reminders).

    The row is the claim: the beat inserts it before it asks for the email, and the unique
    constraint lets one insert win however often the task runs or however many beat processes
    run it at once, so nobody hears twice about one day (or one week). A cache lock would
    forget its claims when Redis restarts; the database does not. The email is then one
    delivery of the one delivery engine (core/delivery.py), whose lease columns it inherits.
    """

    class Kind(models.TextChoices):
        DIGEST = "digest", "Daily digest"
        SUMMARY = "summary", "Weekly summary"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        # Claimed, but when it was written there was nothing left to say (the items were done
        # meanwhile), or the person had turned reminders off: no email rather than an empty one.
        SKIPPED = "skipped", "Not sent"
        FAILED = "failed", "Failed"

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The person's own local date for a digest; the Monday of their local week for a summary.
    period = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # When the beat inserted the row; the engine's sweep counts an unsent one overdue from it.
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # How many rows the email listed, for the admin's view of what went out.
    listed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-period", "person_id"]
        indexes = [
            # The engine's sweep looks at pending reminders every half minute; a row is written
            # per person and day, nearly all of them long sent.
            models.Index(fields=["id"], condition=Q(status="pending"), name="reminder_pending_idx"),
        ]
        constraints = [
            # The claim (see the docstring); also the index of "this person's reminders".
            models.UniqueConstraint(
                fields=["person", "kind", "period"], name="reminder_once_per_period"
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.person_id} on {self.period}: {self.status}"


class ReminderRun(models.Model):
    """How far the hourly reminders task has looked: one row.

    A run claims the reminders whose local hour fell between the last run and now, not only
    those of the current hour, so a beat or worker that was down at the digest hour is caught
    up by the next run of the same local day (or, for the summary, week); a run after that
    finds the hour behind it and claims nothing more. Kept in the database, like the claims,
    because the outage it bridges may well be Redis's.
    """

    ONE = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ONE, editable=False)
    covered_until = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="reminder_run_is_one_row"),
        ]

    def __str__(self) -> str:
        return f"Reminders claimed up to {self.covered_until:%Y-%m-%d %H:%M:%S} UTC"
