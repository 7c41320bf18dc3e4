"""Getting communications to people: subscribers and one delivery row per recipient (a webhook
endpoint is one, as "webhook:<id>"; the endpoints are in incidents.models.webhooks). The outbox
that carries the work to Celery is the outbox app's."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from core.models import Leased
from incidents.models.communications import Communication


class Subscriber(models.Model):
    """An email address that asked for status updates. Double opt-in: nothing but the
    confirmation mail goes to it until confirmed_at is set."""

    email = models.EmailField(max_length=254)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # None chosen means the whole page: every update and every maintenance notice. A subscriber
    # whose chosen components are all deleted falls back to the whole page, so that deleting a
    # component never silences someone without a word.
    components = models.ManyToManyField(
        "incidents.Component",
        blank=True,
        related_name="subscribers",
        help_text="The components this address hears about; none for the whole page.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            # One row per address whatever its case: Ann@x and ann@x are one person.
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique"),
        ]
        indexes = [
            # The send: every confirmed, still subscribed address.
            models.Index(
                fields=["confirmed_at"],
                name="subscriber_active_idx",
                condition=Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class MaintenanceNotice(models.TextChoices):
    """What a maintenance window's subscribers hear, and when."""

    SCHEDULED = "scheduled", "Scheduled"
    STARTED = "started", "Started"
    FINISHED = "finished", "Finished"
    # To those who heard of the window already, when its times change or it is called off.
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"


class Delivery(Leased):
    """One communication, or one maintenance notice, to one recipient. The unique constraints
    are what make a send exactly once per recipient, even when a task runs again after its
    worker died mid-run, or two beat processes run the same notice."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    communication = models.ForeignKey(
        Communication, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Or a maintenance notice: which window, which notice, and for a rescheduled notice the
    # window's schedule_revision it tells of (each change of times is news once).
    maintenance = models.ForeignKey(
        "incidents.Maintenance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    notice = models.CharField(max_length=12, choices=MaintenanceNotice.choices, blank=True)
    revision = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # An email address, or "webhook:<endpoint id>".
    recipient = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["communication_id", "id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # Also the index behind "this communication's deliveries".
            models.UniqueConstraint(
                fields=["communication", "channel", "recipient"],
                name="delivery_once_per_recipient",
            ),
            # Also the index behind "this window's deliveries" (who heard of it).
            models.UniqueConstraint(
                fields=["maintenance", "notice", "revision", "channel", "recipient"],
                name="delivery_notice_once_per_recipient",
                condition=Q(maintenance__isnull=False),
            ),
            models.CheckConstraint(
                condition=(
                    Q(communication__isnull=False, maintenance__isnull=True, notice="")
                    | (Q(communication__isnull=True, maintenance__isnull=False) & ~Q(notice=""))
                ),
                name="delivery_of_one_thing",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="delivery_sent_has_time",
            ),
        ]
        indexes = [
            # The delivery sweep (core.delivery.deliveries_sweep): pending rows only, few at
            # any time, however many sent ones the table keeps.
            models.Index(fields=["id"], name="delivery_pending_idx", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        what = self.communication_id or f"maintenance {self.maintenance_id} {self.notice}"
        return f"{what} -> {self.recipient}: {self.status}"


class Maintenance(models.Model):
    """Scheduled maintenance, shown on the status page as upcoming or in progress."""

    service = models.ForeignKey(
        "deployments.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenances",
        help_text="Empty for maintenance of everything.",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    description_html = models.TextField(blank=True, editable=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # When each notice to subscribers was handed to the outbox; set by compare-and-set from
    # empty, so a notice goes out once however often the beat task runs
    # (incidents.statuspage.maintenance_notices).
    scheduled_notice_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_notice_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_notice_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Called off after it was announced: kept (its deliveries say who heard of it) but shown
    # nowhere, and no notice but the cancellation goes out for it.
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped by each change of its times after it was announced: one "rescheduled" notice each.
    schedule_revision = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenance_ends_after_start"
            ),
        ]
        indexes = [
            # The status page: maintenance that has not ended yet.
            models.Index(fields=["ends_at"], name="maintenance_ends_idx"),
        ]

    def __str__(self) -> str:
        return self.title
