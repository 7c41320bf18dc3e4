"""The system side: services, where they run, what was shipped, and how healthy they were.

This app is the lower floor. It never imports incidents; incidents reads from here.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

sha256_validator = RegexValidator(r"^[0-9a-f]{64}$", "Enter a lowercase hex SHA-256 digest.")
commit_validator = RegexValidator(
    r"^[0-9a-f]{4,64}$", "Enter a hex commit id (4 to 64 characters)."
)


class Service(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    public_url = models.URLField(blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    class Kind(models.TextChoices):
        PRODUCTION = "production", "Production"
        PREVIEW = "preview", "Preview"
        STAGING = "staging", "Staging"
        DEVELOPMENT = "development", "Development"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=50, help_text="As CI names it, e.g. production or preview.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PRODUCTION)
    url = models.URLField(blank=True)
    branch = models.CharField(max_length=200, blank=True)
    rollback_command_template = models.CharField(
        max_length=500,
        blank=True,
        help_text="Shell command to roll back, e.g. "
        "'npx wrangler pages deployment rollback {external_id}'.",
    )

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="environment_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service} / {self.name}"


class Deployment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="deployments"
    )
    external_id = models.CharField(
        max_length=200, help_text="The provider's id for this deployment, e.g. a UUID."
    )
    commit_sha = models.CharField(max_length=64, validators=[commit_validator])
    branch = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    deployed_by = models.CharField(
        max_length=200, blank=True, help_text="A person, or the CI job that shipped it."
    )
    rollback_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rollbacks",
        help_text="The deployment this one rolled back from.",
    )
    # SHA-256 over the sorted (path, size, sha256) lines of the manifest: two deployments that
    # shipped byte-identical files share it, whatever their commits say.
    manifest_digest = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "external_id"], name="deployment_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | Q(started_at__isnull=True)
                | Q(finished_at__gte=models.F("started_at")),
                name="deployment_finished_after_started",
            ),
            models.CheckConstraint(
                condition=~Q(rollback_of=models.F("id")), name="deployment_not_own_rollback"
            ),
        ]
        indexes = [
            # deployments_around(window) and last_known_good(env): one environment, by time.
            models.Index(fields=["environment", "started_at"], name="deployment_env_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.environment} {self.commit_sha[:7]} ({self.get_status_display()})"


class Artifact(models.Model):
    """One file of a deployment's manifest."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="artifacts")
    path = models.CharField(max_length=1024)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64, validators=[sha256_validator])

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "path"], name="artifact_path_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.path} ({self.size} B)"


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
    url = models.URLField(max_length=2000)
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


class HealthSnapshot(models.Model):
    """All of a service's checks at one moment."""

    # Indexed by snapshot_moment_unique, which starts with service.
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    taken_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=HealthStatus.choices)

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "taken_at"], name="snapshot_moment_unique"),
        ]
        # The unique constraint above is also the (service, taken_at) index that serves
        # "snapshots of service X between t1 and t2" and "the latest snapshot of X".

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

    class Meta:
        ordering = ["taken_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "health_check"], name="result_once_per_snapshot"
            ),
            models.CheckConstraint(
                condition=Q(ok=False) | Q(error=""), name="result_ok_has_no_error"
            ),
        ]
        indexes = [
            # results_between(service, t1, t2): the incident page's strip and the retention job.
            models.Index(fields=["service", "taken_at"], name="result_service_time_idx"),
            # One check's history (uptime bars, the check's own page).
            models.Index(fields=["health_check", "taken_at"], name="result_check_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.health_check.name}: {'ok' if self.ok else 'failed'}"
