"""What the team will do about it: action items and the criteria that say it is done."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from incidents.models.base import (
    ROW_HISTORY_EXCLUDED,
    MarkdownModel,
    Ordered,
    Versioned,
    version_positive,
)


class Horizon(models.TextChoices):
    IMMEDIATE = "immediate", "Immediate"
    TODAY = "today", "Today"
    THIS_WEEK = "this_week", "This week"
    BEFORE_NEXT_DEPLOYMENT = "before_next_deployment", "Before next deployment"
    LONG_TERM = "long_term", "Long term"


class ActionItem(MarkdownModel, Ordered, Versioned):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    class Priority(models.TextChoices):
        P1 = "p1", "P1"
        P2 = "p2", "P2"
        P3 = "p3", "P3"

    class Kind(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        MITIGATE = "mitigate", "Mitigate"
        PROCESS = "process", "Process"
        DETECT = "detect", "Detect"

    # Statuses that still need someone's attention: they count as open and overdue, and hold
    # the gate. Spelled as in the partial indexes below, so PostgreSQL can use them.
    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
    # Statuses that no longer do: done, or decided against with a reason.
    CLOSED_STATUSES = (Status.DONE, Status.WONT_DO)

    sibling_fields = ("incident", "parent", "horizon")
    markdown_fields = ("detail",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="action_items"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        verbose_name="step of",
        help_text="Makes this a sub-item (a step) of another item.",
    )
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    detail_html = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PREVENT)
    horizon = models.CharField(max_length=30, choices=Horizon.choices, default=Horizon.THIS_WEEK)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    due_date = models.DateField(null=True, blank=True)
    blocks_deployments = models.BooleanField(
        default=False, help_text="While open, the deployment gate blocks this service."
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Why the team decided against it: a "won't do" with no reason reads as forgotten work.
    closed_reason = models.CharField(
        "reason for won't do",
        max_length=500,
        blank=True,
        help_text="Why this will not be done. Required for won't do, empty otherwise.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="done") & Q(done_at__isnull=False))
                | (~Q(status="done") & Q(done_at__isnull=True)),
                name="actionitem_done_has_done_at",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="actionitem_not_own_parent"),
            models.CheckConstraint(
                condition=(Q(status="wont_do") & ~Q(closed_reason=""))
                | (~Q(status="wont_do") & Q(closed_reason="")),
                name="actionitem_wont_do_has_reason",
            ),
            version_positive("actionitem"),
        ]
        indexes = [
            models.Index(fields=["incident", "order"], name="actionitem_incident_order_idx"),
            # "My open items, overdue first": owner, then due date among the open ones.
            models.Index(
                fields=["owner", "due_date"],
                condition=Q(status__in=["open", "in_progress"]),
                name="actionitem_owner_open_idx",
            ),
            # The action items page (action_item_list of open items): soonest due first, which
            # puts the overdue ones first; undated ones last, as btree sorts NULLs by default.
            models.Index(
                fields=["due_date", "priority", "id"],
                condition=Q(status__in=["open", "in_progress"]),
                name="actionitem_open_due_idx",
            ),
            # The count of open items (GET /api/v1/action-items?status=open, its paginator's
            # COUNT): an index-only scan of a few dozen pages, as btree keeps a repeated key once
            # with the list of its rows. Without it the count read every open row from the
            # table, a cost that grew with the whole history while the page stays 50 rows.
            models.Index(
                fields=["status"],
                condition=Q(status__in=["open", "in_progress"]),
                name="actionitem_open_status_idx",
            ),
            # The gate's blocking rule: open items that block deployments, by incident.
            models.Index(
                fields=["incident"],
                condition=Q(blocks_deployments=True) & Q(status__in=["open", "in_progress"]),
                name="actionitem_blocking_open_idx",
            ),
            # The metrics page's follow-through: items written in a range by month, items done
            # in a range, items due in a range (and whether done on time), each read from its
            # index with the incident's id, which tells a duplicate's items. A scan of the
            # whole table per chart otherwise, the range a fifth of five years.
            models.Index(fields=["created_at", "incident"], name="actionitem_created_idx"),
            models.Index(
                fields=["done_at", "incident"],
                condition=Q(status="done"),
                name="actionitem_done_idx",
            ),
            models.Index(fields=["due_date", "incident", "status"], name="actionitem_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_wont_do(self) -> bool:
        return self.status == self.Status.WONT_DO


class SuccessCriterion(MarkdownModel, Ordered, Versioned):
    """A checkable statement of "we are safe again", grouped by when it must hold."""

    sibling_fields = ("incident", "group")
    markdown_fields = ("text",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="success_criteria"
    )
    group = models.CharField(
        max_length=30, choices=Horizon.choices, default=Horizon.BEFORE_NEXT_DEPLOYMENT
    )
    text = models.CharField(max_length=500)
    text_html = models.TextField(blank=True, editable=False)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["order", "id"]
        verbose_name_plural = "success criteria"
        constraints = [
            models.CheckConstraint(
                condition=(Q(done=True) & Q(done_at__isnull=False))
                | (Q(done=False) & Q(done_at__isnull=True)),
                name="criterion_done_has_done_at",
            ),
            version_positive("criterion"),
        ]
        indexes = [
            models.Index(fields=["incident", "order"], name="criterion_incident_order_idx"),
        ]

    def __str__(self) -> str:
        return self.text
