"""Response shapes, written by hand from .values() rows for speed."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from api.reads import RowSerializer, Times
from deployments.models import (
    Change,
    Deployment,
    Environment,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
)

# --- Responses ------------------------------------------------------------------------------------


class ServiceSerializer(RowSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    public_url = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    health_status = serializers.ChoiceField(
        choices=HealthStatus.choices,
        allow_null=True,
        help_text="Overall status of the latest health snapshot; null when never checked.",
    )
    health_taken_at = serializers.DateTimeField(allow_null=True)


class EnvironmentSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Environment.Kind.choices)
    url = serializers.CharField()
    branch = serializers.CharField()
    rollback_command_template = serializers.CharField()


class DeploymentSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(
        source="environment.service.slug", help_text="The service's slug."
    )
    environment = serializers.CharField(
        source="environment.name", help_text="The environment's name."
    )
    external_id = serializers.CharField()
    commit_sha = serializers.CharField()
    branch = serializers.CharField()
    status = serializers.ChoiceField(choices=Deployment.Status.choices)
    deployed_by = serializers.CharField()
    started_at = serializers.DateTimeField(
        help_text="When it started: the time CI gave, else when the server received the record."
    )
    finished_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When it finished; null until it succeeded, failed or was rolled back.",
    )
    created_at = serializers.DateTimeField()
    rollback_of = serializers.CharField(
        source="rollback_of.external_id",
        allow_null=True,
        help_text="External id of the deployment this one rolled back.",
    )
    manifest_digest = serializers.CharField(
        help_text="SHA-256 over the sorted manifest; equal for byte-identical builds. "
        "Empty without a manifest."
    )
    health = serializers.ChoiceField(
        choices=Deployment.Health.choices,
        help_text="What its smoke checks found, after the deploy or when last verified: "
        "unknown until they ran, and for good when no enabled check watches the environment.",
    )
    health_checked_at = serializers.DateTimeField(
        allow_null=True, help_text="When the smoke checks behind `health` ran; null before."
    )


class ArtifactSerializer(RowSerializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class DeploymentDetailSerializer(DeploymentSerializer):
    artifacts = ArtifactSerializer(many=True, help_text="The manifest, by path.")


class HealthCheckSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    environment = serializers.CharField(
        source="environment.name", allow_null=True, help_text="The environment's name."
    )
    name = serializers.CharField()
    url = serializers.URLField()
    method = serializers.ChoiceField(choices=HealthCheck.Method.choices)
    expected_status = serializers.IntegerField()
    expected_body = serializers.CharField()
    timeout_seconds = serializers.FloatField()
    interval_seconds = serializers.IntegerField()
    enabled = serializers.BooleanField()
    order = serializers.IntegerField()


class CheckResultSerializer(RowSerializer):
    health_check = serializers.IntegerField(source="health_check_id", help_text="The check's id.")
    name = serializers.CharField(source="health_check.name", help_text="The check's name.")
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    maintenance = serializers.BooleanField(
        help_text="A failure inside a maintenance window: not counted against uptime."
    )


class HealthSnapshotSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    taken_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=HealthSnapshot.Kind.choices,
        help_text="scheduled, or manual for a Run now answer (one check, never a state change).",
    )
    status = serializers.ChoiceField(choices=HealthStatus.choices)
    results = CheckResultSerializer(many=True, help_text="One per check, by check id.")

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        # Shaped apart and put in the row by the view: one query for a whole page.
        data["results"] = source["results"]


class HealthHourSerializer(RowSerializer):
    """One check's results over one hour, as retention keeps them once the raw results are gone
    (deployments.services.retention)."""

    health_check = serializers.IntegerField(source="health_check_id", help_text="The check's id.")
    name = serializers.CharField(source="health_check.name", help_text="The check's name.")
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    hour = serializers.DateTimeField(help_text="The start of the hour, UTC.")
    samples = serializers.IntegerField(
        help_text="Results counted for uptime (failures inside maintenance windows are not)."
    )
    ok_count = serializers.IntegerField(help_text="Of those, the results that passed.")
    maintenance_count = serializers.IntegerField(
        help_text="Failures inside a maintenance window: not counted against uptime."
    )
    latency_p50_ms = serializers.IntegerField(allow_null=True)
    latency_p95_ms = serializers.IntegerField(allow_null=True)


class ChangeSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    environment = serializers.CharField(
        source="environment.name",
        allow_null=True,
        help_text="The environment's name; null for a change to the whole service.",
    )
    kind = serializers.ChoiceField(choices=Change.Kind.choices)
    summary = serializers.CharField()
    link = serializers.CharField(help_text="http or https, or empty; never fetched.")
    at = serializers.DateTimeField(help_text="When it took effect.")
    by = serializers.CharField()
    external_id = serializers.CharField(help_text="Empty when none was given.")
    created_at = serializers.DateTimeField()


class MaintenanceWindowSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    environment = serializers.CharField(
        source="environment.name",
        allow_null=True,
        help_text="The environment whose checks it covers; null for every check of the service.",
    )
    reason = serializers.CharField()
    external_id = serializers.CharField(help_text="Empty when none was given.")
    opened_by = serializers.CharField(help_text="The user who opened it, and their token's name.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="When it closes by itself unless ended first.")
    ended_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was ended; null if it was not."
    )
    open = serializers.BooleanField(
        source="*",
        help_text="Open now: started, not ended and not past ends_at. Failing checks it covers "
        "are stored as maintenance.",
    )

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        now = timezone.now()
        data["open"] = data["starts_at"] <= now < data["ends_at"] and (
            data["ended_at"] is None or now < data["ended_at"]
        )
