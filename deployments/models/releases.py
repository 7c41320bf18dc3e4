"""What was shipped: deployments and the files of each."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from deployments.models.catalogue import Environment, commit_validator, sha256_validator


def manifest_digest(manifest: Iterable[Mapping]) -> str:
    """A digest of the shipped files that ignores their order: what a deployment and a gate
    answer store, so the gate can tie its answer to the deployment that shipped that build."""
    lines = sorted(f"{f['path']}\t{int(f['size'])}\t{f['sha256']}" for f in manifest)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class Deployment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    class Health(models.TextChoices):
        """What the smoke run after the deployment found."""

        UNKNOWN = "unknown", "Not checked"
        HEALTHY = "healthy", "Healthy"
        UNHEALTHY = "unhealthy", "Unhealthy"

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
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Never empty: the gate's stale-build rule, the correlation window and the lists all order or
    # select by it, and a deployment without it would silently drop out of each. CI that sends no
    # time gets the moment the server received the record (deployment_record).
    started_at = models.DateTimeField(
        default=timezone.now, help_text="When it started; when it was recorded unless CI said."
    )
    # Set once it finished (succeeded, failed or rolled back): last known good and the suspect
    # go by it.
    finished_at = models.DateTimeField(null=True, blank=True)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "external_id"], name="deployment_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("started_at")),
                name="deployment_finished_after_started",
            ),
            models.CheckConstraint(
                condition=~Q(rollback_of=models.F("id")), name="deployment_not_own_rollback"
            ),
        ]
        indexes = [
            # deployments_around(window) and last_known_good(env): one environment, by time.
            models.Index(fields=["environment", "started_at"], name="deployment_env_started_idx"),
            # The API's deployment list, newest first, its numbered pages and its keyset pages.
            models.Index(fields=["-started_at", "-id"], name="deployment_started_idx"),
            # The stale-build and preview-first gate rules: "was this digest shipped before?"
            models.Index(
                fields=["environment", "manifest_digest"], name="deployment_env_digest_idx"
            ),
            # The changes shipped in a range, rollbacks left out (the metrics page's change
            # failure rate and deployments per week): read from the index alone, a fifth of the
            # entries of five years instead of every row.
            models.Index(
                fields=["started_at", "environment", "id"],
                condition=Q(rollback_of__isnull=True),
                name="deployment_shipped_idx",
            ),
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
