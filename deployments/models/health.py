"""How healthy a service was: checks, snapshots, results, changes and hourly roll-ups."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from deployments.models.catalogue import Environment, Service


class HealthCheck(models.Model):
    class Method(models.TextChoices):
        GET = "GET", "GET"
        HEAD = "HEAD", "HEAD"
        POST = "POST", "POST"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="health_checks")
    environment = models.ForeignKey(
        Environment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="health_checks",
        help_text="The environment this check watches; the smoke run after a deploy uses it.",
    )
    name = models.CharField(max_length=100, help_text='e.g. "Homepage" or "API health".')
    # http and https only: the prober speaks nothing else, and file:// or gopher:// targets are
    # how a health check becomes a way to read the server's own files.
    url = models.URLField(max_length=2000, validators=[URLValidator(schemes=["http", "https"])])
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.GET)
    expected_status = models.PositiveSmallIntegerField(
        default=200, validators=[MinValueValidator(100), MaxValueValidator(599)]
    )
    expected_body = models.CharField(
        max_length=500, blank=True, help_text="Text the response body must contain, if any."
    )
    timeout_seconds = models.FloatField(
        default=10.0, validators=[MinValueValidator(0.1), MaxValueValidator(120)]
    )
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10), MaxValueValidator(86400)]
    )
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["service__name", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="healthcheck_name_unique"),
            models.CheckConstraint(
                condition=Q(expected_status__gte=100) & Q(expected_status__lte=599),
                name="healthcheck_expected_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gt=0), name="healthcheck_timeout_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.name}"


class HealthStatus(models.TextChoices):
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    # Checks failed, but only inside a maintenance window: neither up nor failing. It breaks a
    # run of failures, so it drafts no incident.
    MAINTENANCE = "maintenance", "Maintenance"


# Long enough for every HealthStatus value.
STATUS_LENGTH = 20


class HealthSnapshot(models.Model):
    """All of a service's checks at one moment."""

    class Kind(models.TextChoices):
        # Every enabled check, taken on the schedule: these alone make health changes and runs
        # of failures.
        SCHEDULED = "scheduled", "Scheduled"
        # One check probed on request ("Run now"); see deployments.services.probes.
        MANUAL = "manual", "Run now"

    # Indexed by snapshot_moment_unique, which starts with service.
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    taken_at = models.DateTimeField()
    status = models.CharField(max_length=STATUS_LENGTH, choices=HealthStatus.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHEDULED)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "taken_at"], name="snapshot_moment_unique"),
        ]
        # The unique constraint above is also the (service, taken_at) index that serves
        # "snapshots of service X between t1 and t2" and "the latest snapshot of X".
        indexes = [
            # The API's unfiltered snapshot list: cursor pages over (-taken_at, -id).
            models.Index(fields=["taken_at", "id"], name="snapshot_time_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service} at {self.taken_at:%Y-%m-%d %H:%M:%S}: {self.status}"


class CheckResult(models.Model):
    """One check's answer inside a snapshot.

    service and taken_at repeat the snapshot's on purpose: the results table is the one that grows
    to millions of rows, and the range scan by (service, taken_at) must not need a join.
    """

    # No single-column indexes on the foreign keys: the composite indexes below start with each
    # of them, and this is the table where every extra index costs on every insert.
    snapshot = models.ForeignKey(
        HealthSnapshot, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    health_check = models.ForeignKey(
        HealthCheck, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)
    taken_at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # A failure inside a maintenance window of its check (deployments.models.changes): kept as
    # it was answered, but not counted against uptime and not a reason to draft an incident.
    maintenance = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["taken_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "health_check"], name="result_once_per_snapshot"
            ),
            models.CheckConstraint(
                condition=Q(ok=False) | Q(error=""), name="result_ok_has_no_error"
            ),
            # Only failures are excused: a pass inside a window is plain uptime.
            models.CheckConstraint(
                condition=Q(ok=False) | Q(maintenance=False), name="result_maintenance_is_a_failure"
            ),
        ]
        indexes = [
            # results_between(service, t1, t2): the incident page's strip and the retention job.
            models.Index(fields=["service", "taken_at"], name="result_service_time_idx"),
            # One check's history (uptime bars, the check's own page).
            models.Index(fields=["health_check", "taken_at"], name="result_check_time_idx"),
        ]

    def __str__(self) -> str:
        said = "ok" if self.ok else "failed in maintenance" if self.maintenance else "failed"
        return f"{self.health_check.name}: {said}"


class HealthChange(models.Model):
    """A service's overall status moved, e.g. from up to down. One row per change, not per probe."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="health_changes", db_index=False
    )
    snapshot = models.OneToOneField(HealthSnapshot, on_delete=models.CASCADE, related_name="change")
    changed_at = models.DateTimeField()
    from_status = models.CharField(
        max_length=STATUS_LENGTH, choices=HealthStatus.choices, blank=True
    )
    to_status = models.CharField(max_length=STATUS_LENGTH, choices=HealthStatus.choices)

    class Meta:
        ordering = ["changed_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")), name="healthchange_is_a_change"
            ),
        ]
        indexes = [
            # "When did service X turn red before time t?" and the incident timeline's merge.
            models.Index(fields=["service", "changed_at"], name="healthchange_service_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.from_status or '?'} -> {self.to_status}"


class CheckResultHourly(models.Model):
    """One check's results over one hour, kept after the raw rows are deleted by retention."""

    health_check = models.ForeignKey(
        HealthCheck, on_delete=models.CASCADE, related_name="hourly", db_index=False
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField(help_text="The start of the hour, UTC.")
    samples = models.PositiveIntegerField(help_text="Results counted for uptime.")
    ok_count = models.PositiveIntegerField()
    # Failures inside maintenance windows, left out of samples as they are left out of uptime.
    # db_default: rows written by plain SQL (the demo's uptime) need not name it.
    maintenance_count = models.PositiveIntegerField(default=0, db_default=0)
    latency_p50_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    # A late result merged into an hour already rolled up changes it: `updated_after` finds it.
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["hour"]
        constraints = [
            # Also the (check, hour) index behind the 90-day uptime bars.
            models.UniqueConstraint(fields=["health_check", "hour"], name="hourly_once_per_hour"),
            models.CheckConstraint(
                condition=Q(ok_count__lte=models.F("samples")), name="hourly_ok_within_samples"
            ),
        ]
        indexes = [
            # A service's uptime over a window (the status page, the service page).
            models.Index(fields=["service", "hour"], name="hourly_service_hour_idx"),
            # The checks that fail most in a range (the metrics page): the few hours with a
            # failure among years of healthy ones, by hour.
            models.Index(
                fields=["hour"], condition=Q(ok_count__lt=F("samples")), name="hourly_failing_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.health_check_id} {self.hour:%Y-%m-%d %H}:00 {self.ok_count}/{self.samples}"

    @property
    def uptime_percent(self) -> float | None:
        return 100.0 * self.ok_count / self.samples if self.samples else None
