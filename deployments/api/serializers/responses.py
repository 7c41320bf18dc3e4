"""Response shapes, written by hand from .values() rows for speed."""

from __future__ import annotations

from rest_framework import serializers

from api.reads import RowSerializer
from deployments.models import (
    Deployment,
    Environment,
    HealthCheck,
    HealthSnapshot,
    HealthStatus,
)

# --- Responses ------------------------------------------------------------------------------------


class ServiceSerializer(RowSerializer):
    columns = {
        "id": "id",
        "name": "name",
        "slug": "slug",
        "public_url": "public_url",
        "description": "description",
        "created_at": "created_at",
        "health_status": "health_status",
        "health_taken_at": "health_taken_at",
    }
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
    columns = {
        "id": "id",
        "service": "service__slug",
        "name": "name",
        "kind": "kind",
        "url": "url",
        "branch": "branch",
        "rollback_command_template": "rollback_command_template",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Environment.Kind.choices)
    url = serializers.CharField()
    branch = serializers.CharField()
    rollback_command_template = serializers.CharField()


class DeploymentSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "environment__service__slug",
        "environment": "environment__name",
        "external_id": "external_id",
        "commit_sha": "commit_sha",
        "branch": "branch",
        "status": "status",
        "deployed_by": "deployed_by",
        "started_at": "started_at",
        "finished_at": "finished_at",
        "created_at": "created_at",
        "rollback_of": "rollback_of__external_id",
        "manifest_digest": "manifest_digest",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    environment = serializers.CharField(help_text="The environment's name.")
    external_id = serializers.CharField()
    commit_sha = serializers.CharField()
    branch = serializers.CharField()
    status = serializers.ChoiceField(choices=Deployment.Status.choices)
    deployed_by = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    rollback_of = serializers.CharField(
        allow_null=True, help_text="External id of the deployment this one rolled back."
    )
    manifest_digest = serializers.CharField(
        help_text="SHA-256 over the sorted manifest; equal for byte-identical builds. "
        "Empty without a manifest."
    )


class ArtifactSerializer(RowSerializer):
    columns = {"path": "path", "size": "size", "sha256": "sha256"}
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class DeploymentDetailSerializer(DeploymentSerializer):
    columns = {**DeploymentSerializer.columns, "artifacts": "artifacts"}
    artifacts = ArtifactSerializer(many=True, help_text="The manifest, by path.")


class HealthCheckSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "service__slug",
        "environment": "environment__name",
        "name": "name",
        "url": "url",
        "method": "method",
        "expected_status": "expected_status",
        "expected_body": "expected_body",
        "timeout_seconds": "timeout_seconds",
        "interval_seconds": "interval_seconds",
        "enabled": "enabled",
        "order": "order",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    environment = serializers.CharField(allow_null=True, help_text="The environment's name.")
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
    columns = {
        "health_check": "health_check_id",
        "name": "health_check__name",
        "ok": "ok",
        "status_code": "status_code",
        "latency_ms": "latency_ms",
        "error": "error",
    }
    health_check = serializers.IntegerField(help_text="The check's id.")
    name = serializers.CharField(help_text="The check's name.")
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class HealthSnapshotSerializer(RowSerializer):
    columns = {
        "id": "id",
        "service": "service__slug",
        "taken_at": "taken_at",
        "kind": "kind",
        "status": "status",
        "results": "results",
    }
    id = serializers.IntegerField()
    service = serializers.SlugField(help_text="The service's slug.")
    taken_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=HealthSnapshot.Kind.choices,
        help_text="scheduled, or manual for a Run now answer (one check, never a state change).",
    )
    status = serializers.ChoiceField(choices=HealthStatus.choices)
    results = CheckResultSerializer(many=True, help_text="One per check, by check id.")
