"""The narrative sections of a post-mortem that are lists: where things stand, the way forward,
and the closing notes."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from incidents.models.base import (
    ROW_HISTORY_EXCLUDED,
    MarkdownModel,
    Ordered,
    Versioned,
    version_positive,
)


class StatusItem(MarkdownModel, Ordered, Versioned):
    """A line of "current status", "what's working" or "known issues"."""

    class Kind(models.TextChoices):
        CURRENT = "current", "Current status"
        WORKING = "working", "What's working"
        KNOWN_ISSUE = "known_issue", "Known issue"

    sibling_fields = ("incident", "kind")
    markdown_fields = ("detail",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="status_items"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    detail_html = models.TextField(blank=True, editable=False)
    ok = models.BooleanField(
        null=True, blank=True, help_text="For current status: healthy (yes), failing (no)."
    )
    # The third state a status line can be in (⚠️): working, but not as it should. A flag
    # beside `ok` rather than a new value of it, so what reads `ok` keeps its meaning.
    warning = models.BooleanField(
        default=False, help_text="Needs attention: neither healthy nor failing (⚠️)."
    )
    pre_existing = models.BooleanField(
        default=False, help_text="For known issues: it was there before this incident."
    )

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    class Meta:
        ordering = ["order", "id"]  # the page groups rows by kind
        constraints = [
            version_positive("statusitem"),
            models.CheckConstraint(
                condition=models.Q(warning=False) | models.Q(ok__isnull=True),
                name="statusitem_warning_is_neither_ok_nor_failing",
                violation_error_message="A line with a warning is neither healthy nor failing.",
            ),
        ]
        indexes = [models.Index(fields=["incident", "order"], name="statusitem_incident_idx")]

    def __str__(self) -> str:
        return self.label


class PathPriority(MarkdownModel, Ordered, Versioned):
    """One numbered priority of the path forward."""

    sibling_fields = ("incident",)
    markdown_fields = ("detail",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="priorities"
    )
    title = models.CharField(max_length=300)
    urgent = models.BooleanField(default=False)
    detail = models.TextField(blank=True)
    detail_html = models.TextField(blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "path-forward priority"
        verbose_name_plural = "path-forward priorities"
        constraints = [version_positive("priority")]
        indexes = [models.Index(fields=["incident", "order"], name="priority_incident_idx")]

    def __str__(self) -> str:
        return self.title


class SolutionOption(MarkdownModel, Ordered, Versioned):
    """One way to carry out a priority, with what it is expected to cost."""

    sibling_fields = ("priority",)
    markdown_fields = ("detail",)

    priority = models.ForeignKey(PathPriority, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(max_length=10, help_text='Short handle, e.g. "A".')
    title = models.CharField(max_length=300)
    estimate = models.CharField(max_length=100, blank=True, help_text='e.g. "2 to 3 hours".')
    detail = models.TextField(blank=True)
    detail_html = models.TextField(blank=True, editable=False)
    chosen = models.BooleanField(default=False)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["priority", "label"], name="option_label_unique"),
            version_positive("option"),
        ]

    def __str__(self) -> str:
        return f"{self.label}) {self.title}"


class FinalNote(MarkdownModel, Ordered, Versioned):
    class Kind(models.TextChoices):
        ACCOMPLISHED = "accomplished", "What we accomplished"
        LEARNED = "learned", "What we learned"
        MOVING_FORWARD = "moving_forward", "Moving forward"
        # Text an imported document held that no section of Hindsight's matched, kept verbatim.
        OTHER = "other", "Other notes"

    sibling_fields = ("incident", "kind")
    markdown_fields = ("text",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="final_notes"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    text_html = models.TextField(blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    class Meta:
        ordering = ["order", "id"]  # the page groups rows by kind
        constraints = [version_positive("finalnote")]
        indexes = [models.Index(fields=["incident", "order"], name="finalnote_incident_idx")]

    def __str__(self) -> str:
        return self.text[:80]
