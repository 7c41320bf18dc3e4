"""Root cause analysis and lessons."""

from __future__ import annotations

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


class Cause(MarkdownModel, Ordered, Versioned):
    class Kind(models.TextChoices):
        PRIMARY = "primary", "Primary cause"
        CONTRIBUTING = "contributing", "Contributing factor"
        TRIGGER = "trigger", "Trigger"
        ASSUMPTION = "assumption", "Incorrect assumption"

    class Category(models.TextChoices):
        """What kind of failure it was, so the metrics page can count causes across incidents:
        a kind says the cause's role in one incident, a category what sort of thing broke."""

        CHANGE = "change", "Change or deployment"
        CODE = "code", "Code defect"
        CONFIGURATION = "configuration", "Configuration"
        CAPACITY = "capacity", "Capacity or load"
        DEPENDENCY = "dependency", "External dependency"
        INFRASTRUCTURE = "infrastructure", "Infrastructure"
        DATA = "data", "Data"
        MONITORING = "monitoring", "Monitoring gap"
        PROCESS = "process", "Process or people"

    sibling_fields = ("incident", "parent", "kind")
    markdown_fields = ("detail",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="causes"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        verbose_name="nested under",
        help_text="Nests this row as detail under another cause.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CONTRIBUTING)
    # Blank: not categorised yet; older causes and imported documents start without one.
    category = models.CharField(
        max_length=20, choices=Category.choices, blank=True, default="", db_default=""
    )
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    detail_html = models.TextField(blank=True, editable=False)
    deployment = models.ForeignKey(
        "deployments.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The deployment that carried this cause, when there is one.",
    )
    # Drafted by "Start the post-mortem" (the suspect deployment as the trigger) and not yet
    # kept by a person: left out of exports and messages until kept.
    proposed = models.BooleanField(default=False, editable=False)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="cause_not_own_parent"),
            version_positive("cause"),
        ]
        indexes = [
            models.Index(fields=["incident", "order"], name="cause_incident_order_idx"),
            # The deployments a person named as a cause (the metrics page's change failure
            # rate): a few among all causes, read whole with their incidents.
            models.Index(
                fields=["deployment", "incident"],
                condition=Q(deployment__isnull=False, proposed=False),
                name="cause_named_deployment_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(MarkdownModel, Ordered, Versioned):
    class Kind(models.TextChoices):
        WENT_WRONG = "went_wrong", "What went wrong"
        WENT_RIGHT = "went_right", "What went right"
        LUCKY = "lucky", "Where we got lucky"

    sibling_fields = ("incident", "kind")
    markdown_fields = ("text",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="lessons"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    text_html = models.TextField(blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=ROW_HISTORY_EXCLUDED)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["order", "id"]  # the page groups rows by kind
        constraints = [version_positive("lesson")]
        indexes = [models.Index(fields=["incident", "order"], name="lesson_incident_order_idx")]

    def __str__(self) -> str:
        return self.text[:80]
