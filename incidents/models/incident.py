from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from incidents.models.base import HISTORY_EXCLUDED, MarkdownModel

REFERENCE_PREFIX = "INC-"
REFERENCE_RE = re.compile(r"^\s*(?:INC-)?(\d{1,9})\s*$", re.IGNORECASE)


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 · Critical"
    SEV2 = "sev2", "SEV2 · High"
    SEV3 = "sev3", "SEV3 · Medium"
    SEV4 = "sev4", "SEV4 · Low"


class IncidentQuerySet(models.QuerySet["Incident"]):
    def by_reference(self, reference: str | int) -> Incident:
        """Fetch by "INC-12", "inc-12" or 12. Raises DoesNotExist for anything else."""
        match = REFERENCE_RE.match(str(reference))
        if not match:
            raise self.model.DoesNotExist(f"{reference!r} is not an incident reference.")
        return self.get(number=int(match.group(1)))

    def open(self) -> IncidentQuerySet:
        """Incidents still being handled: not resolved, and not closed as a duplicate."""
        return self.exclude(status=Incident.Status.RESOLVED).filter(duplicate_of__isnull=True)

    def counted(self) -> IncidentQuerySet:
        """Incidents that count: a duplicate is told once, by its original, so lists, counts
        and the status page leave it out."""
        return self.filter(duplicate_of__isnull=True)


class ReferenceCounter(models.Model):
    """The last number handed out per kind of reference (INC-1, INC-2, ...).

    Allocation increments the row with UPDATE ... SET value = value + 1, which holds the row lock
    until commit; concurrent creators queue on it instead of reading the same MAX().
    """

    name = models.CharField(max_length=50, unique=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class Incident(MarkdownModel):
    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    class PostmortemState(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    markdown_fields = ("summary", "impact", "resolution", "next_step")

    number = models.PositiveIntegerField(editable=False)
    service = models.ForeignKey(
        "deployments.Service", on_delete=models.PROTECT, related_name="incidents"
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVESTIGATING)
    postmortem_state = models.CharField(
        "post-mortem state",
        max_length=20,
        choices=PostmortemState.choices,
        default=PostmortemState.DRAFT,
    )
    status_line = models.CharField(
        max_length=200,
        blank=True,
        help_text='Where things stand in one line, e.g. "Resolved: site back online".',
    )

    started_at = models.DateTimeField()
    detected_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    impact = models.TextField("impact summary", blank=True)
    impact_html = models.TextField(blank=True, editable=False)
    summary = models.TextField(blank=True)
    summary_html = models.TextField(blank=True, editable=False)
    resolution = models.TextField(blank=True)
    resolution_html = models.TextField(blank=True, editable=False)
    next_step = models.TextField(
        blank=True, help_text="What happens next, and when it is expected to be done."
    )
    next_step_html = models.TextField(blank=True, editable=False)
    # Text "Start the post-mortem" drafted for prose fields that were empty, by field name
    # ("summary", "impact", "resolution"), waiting for a person to keep or discard it. Kept
    # apart from the fields themselves, so nothing unreviewed reaches an export or a message,
    # and nothing a person wrote is ever replaced.
    proposed_prose = models.JSONField(default=dict, blank=True, editable=False)

    authors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="authored_incidents"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set when this incident turns out to be one already recorded: it is then closed, linked to
    # that one, and left out of lists, counts and the status page. Always the original, never
    # another duplicate (incident_mark_duplicate follows the chain). PROTECT: deleting an
    # original must not silently bring its duplicates back, nor take them along.
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        editable=False,
    )
    # On the public status page and its feeds since when, and who put it there: the first
    # published status page update, or an editor marking it public (incidents.statuspage.
    # services). Null: internal, whatever it has written. Nothing is public by being declared.
    public_since = models.DateTimeField(null=True, blank=True, editable=False)
    public_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Marked public by hand: it stays public when its published updates are all withdrawn.
    public_marked = models.BooleanField(default=False, editable=False)
    # The declare form's own key: a second submit of the same form (Back, then submit again)
    # finds the incident the first one made instead of declaring a twin.
    creation_key = models.UUIDField(null=True, blank=True, editable=False)
    # SHA-256 of the Markdown document this incident was imported from, so importing the same
    # document again is noticed rather than making a twin.
    import_digest = models.CharField(max_length=64, blank=True, editable=False)
    # Bumped by every write to the incident row; writes compare-and-set against it so two
    # editors never overwrite each other unseen.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    history = HistoricalRecords(excluded_fields=HISTORY_EXCLUDED)

    class Meta:
        ordering = ["-started_at", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="incident_reference_unique"),
            models.UniqueConstraint(fields=["creation_key"], name="incident_creation_key_unique"),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("started_at")),
                name="incident_resolved_after_started",
            ),
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True) | Q(detected_at__gte=F("started_at")),
                name="incident_detected_after_started",
            ),
            models.CheckConstraint(
                condition=Q(mitigated_at__isnull=True) | Q(mitigated_at__gte=F("started_at")),
                name="incident_mitigated_after_started",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_at__isnull=False),
                name="incident_resolved_has_resolved_at",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="incident_version_positive"),
            models.CheckConstraint(
                condition=~Q(duplicate_of=F("id")), name="incident_not_duplicate_of_itself"
            ),
            models.CheckConstraint(
                condition=Q(public_marked=False) | Q(public_since__isnull=False),
                name="incident_marked_public_is_public",
            ),
        ]
        indexes = [
            # The incident list filtered by service, newest first; also "incidents around t".
            models.Index(fields=["service", "-started_at"], name="incident_service_started_idx"),
            # The incident list page and the API's incident list, newest first (both leave
            # duplicates out, which the scan filters on the way), and the API's keyset pages.
            models.Index(fields=["-started_at", "-number"], name="incident_started_idx"),
            # The dashboard's open incidents (incidents_open), most severe first: a handful
            # among years of resolved ones, which a NOT-equal test on status cannot skip.
            models.Index(
                fields=["severity", "-started_at", "-number"],
                condition=~Q(status="resolved") & Q(duplicate_of__isnull=True),
                name="incident_open_idx",
            ),
            # The dashboard's post-mortems in review (postmortems_in_review), newest first.
            models.Index(
                fields=["-started_at", "-number"],
                condition=Q(postmortem_state="in_review", duplicate_of__isnull=True),
                name="incident_in_review_idx",
            ),
            # Dashboards: open incidents.
            models.Index(fields=["status"], name="incident_status_idx"),
            # The import's duplicate check: an incident imported from the same document.
            models.Index(
                fields=["import_digest"],
                condition=~Q(import_digest=""),
                name="incident_import_digest_idx",
            ),
            # The status page's history pages: public incidents, newest first.
            models.Index(
                fields=["-started_at", "-number"],
                condition=Q(public_since__isnull=False, duplicate_of__isnull=True),
                name="incident_public_started_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def reference(self) -> str:
        return f"{REFERENCE_PREFIX}{self.number}" if self.number else ""

    @property
    def duration(self) -> timedelta | None:
        """From start to resolution; None while the incident is open."""
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.started_at

    @property
    def time_to_detect(self) -> timedelta | None:
        return self.detected_at - self.started_at if self.detected_at else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated_at - self.started_at if self.mitigated_at else None

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of_id is not None

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED and not self.is_duplicate

    @property
    def is_public(self) -> bool:
        """On the status page and in its feeds (a duplicate never is: its original tells it)."""
        return self.public_since is not None and not self.is_duplicate
