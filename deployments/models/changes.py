"""What else changed a service besides deployments: recorded changes, and the maintenance windows
CI opens around a deployment so that the checks failing meanwhile are not taken for an outage."""

from __future__ import annotations

from datetime import datetime

from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from deployments.models.catalogue import Environment, Service


class ChangeKind(models.TextChoices):
    CONFIG = "config", "Configuration"
    FEATURE_FLAG = "feature_flag", "Feature flag"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    OTHER = "other", "Other"


class Change(models.Model):
    """A change to a service that was not a deployment: a config value, a feature flag, the
    infrastructure under it. Recorded by CI or a person through the API, read by correlation."""

    # Outside the class too, so that Meta's constraint can name the values.
    Kind = ChangeKind

    # Indexed by change_service_at_idx, which starts with service.
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="changes", db_index=False
    )
    environment = models.ForeignKey(
        Environment,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="changes",
        help_text="Empty for a change to the whole service.",
    )
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    summary = models.CharField(max_length=500)
    # Shown as a link for people to follow; Hindsight never fetches it. http and https only, so
    # a javascript: or file: link can never be put on a page.
    link = models.URLField(
        max_length=2000, blank=True, validators=[URLValidator(schemes=["http", "https"])]
    )
    at = models.DateTimeField(default=timezone.now, help_text="When the change took effect.")
    by = models.CharField(max_length=200, blank=True, help_text="A person, or the job that did it.")
    external_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The recorder's id for this change; recording it again for the same service "
        "gives the first one back.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # Also the index behind change_record's look-up by external id.
            models.UniqueConstraint(
                fields=["service", "external_id"],
                condition=~Q(external_id=""),
                name="change_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ChangeKind.values), name="change_kind_valid"
            ),
        ]
        indexes = [
            # changes_around(service, window) for the incident page and its suspect, and the
            # API list filtered by service and time.
            models.Index(fields=["service", "at"], name="change_service_at_idx"),
            # The API's change list, newest first, its numbered pages and its keyset pages.
            models.Index(fields=["-at", "-id"], name="change_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.get_kind_display().lower()}: {self.summary[:60]}"


class MaintenanceWindow(models.Model):
    """A stretch of time in which a service (or one environment of it) is expected to fail its
    checks, usually a deployment: failures inside it are stored as maintenance, draft no
    incident and do not count against uptime.

    It is open from starts_at until CI ends it (ended_at) or, failing that, until ends_at: a
    window nobody ends closes by itself, so a CI job that dies cannot mute a service for good.
    """

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="maintenance_windows", db_index=False
    )
    environment = models.ForeignKey(
        Environment,
        null=True,
        blank=True,
        # Not SET_NULL: losing the environment would widen the window to the whole service.
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        help_text="Empty for the whole service: every check of it. Otherwise the checks "
        "watching this environment.",
    )
    reason = models.CharField(max_length=500, blank=True)
    external_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The opener's id, e.g. the deployment's; opening it again while the window "
        "is open gives the open one back.",
    )
    opened_by = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(help_text="When it closes by itself unless ended before.")
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was ended; empty if it was not (yet)."
    )

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenancewindow_ends_after_start"
            ),
            # Ending only ever shortens a window: after ends_at it has closed by itself.
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True)
                | Q(ended_at__gte=F("starts_at")) & Q(ended_at__lte=F("ends_at")),
                name="maintenancewindow_ended_within",
            ),
        ]
        indexes = [
            # in_maintenance(check, t) and the open windows of a service: its windows that had
            # not closed by themselves by t.
            models.Index(fields=["service", "ends_at"], name="maintenance_service_ends_idx"),
        ]

    def __str__(self) -> str:
        where = f" / {self.environment.name}" if self.environment is not None else ""
        return f"{self.service}{where} from {self.starts_at:%Y-%m-%d %H:%M}"

    def is_open(self, at: datetime | None = None) -> bool:
        moment = at or timezone.now()
        return self.starts_at <= moment < self.ends_at and (
            self.ended_at is None or moment < self.ended_at
        )
