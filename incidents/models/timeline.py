from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from simple_history.models import HistoricalRecords

from incidents.models.base import (
    ROW_HISTORY_EXCLUDED,
    MarkdownModel,
    Versioned,
    version_positive,
)


class TimelineEvent(MarkdownModel, Versioned):
    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        TRIGGER = "trigger", "Trigger"
        DETECTED = "detected", "Detected"
        ACTION = "action", "Action taken"
        STATUS_CHANGE = "status_change", "Status change"
        DEPLOYMENT = "deployment", "Deployment"
        ROLLBACK = "rollback", "Rollback"
        HEALTH = "health", "Health change"
        # A configuration, feature flag or infrastructure change (deployments' Change).
        CHANGE = "change", "Change"
        COMMUNICATION = "communication", "Communication"
        MITIGATED = "mitigated", "Mitigated"
        RESOLVED = "resolved", "Resolved"

    class Source(models.TextChoices):
        MANUAL = "manual", "Written by a person"
        DEPLOYMENT = "deployment", "Deployment record"
        HEALTH = "health", "Health check"
        CHANGE = "change", "Change record"
        SYSTEM = "system", "Hindsight"

    markdown_fields = ("text",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="timeline_events"
    )
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTE)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    text = models.TextField()
    text_html = models.TextField(blank=True, editable=False)
    deployment = models.ForeignKey(
        "deployments.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Lines Hindsight writes itself (status changes, deployments, health, messages sent) are its
    # record of what happened and cannot be edited or deleted; a team that finds one noise in
    # the document it publishes hides it instead, and the line stays on record.
    hidden = models.BooleanField(
        default=False,
        help_text="Left out of the published post-mortem: its exports and the printed page.",
    )
    # Drafted by "Start the post-mortem" from what Hindsight knows, and not yet kept by a person:
    # shown as a proposal on the page, and left out of exports and what others read until kept.
    proposed = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [version_positive("timelineevent")]
        indexes = [
            # An incident's timeline in time order (and its cursor pagination).
            models.Index(
                fields=["incident", "occurred_at", "id"], name="timeline_incident_time_idx"
            ),
            # An incident's first rollback (the metrics page's time from detection to rollback):
            # one entry to read, not the whole timeline.
            models.Index(
                fields=["incident", "occurred_at"],
                condition=Q(kind="rollback"),
                name="timeline_rollback_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%H:%M} {self.get_kind_display()}"

    @property
    def is_audit(self) -> bool:
        """Written by Hindsight, not by a person: editors hide it but never change it."""
        return self.source != self.Source.MANUAL
