"""The shape of GET /incidents/{ref}/correlation: the system around an incident, read-only."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deployments.api.serializers.correlation import (
    CorrelatedChangeSerializer,
    CorrelatedDeploymentSerializer,
    LastKnownGoodSerializer,
)
from deployments.models import Change, Deployment, HealthStatus
from incidents.models import TimelineEvent


class WindowDeploymentSerializer(CorrelatedDeploymentSerializer):
    is_suspect = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_suspect(self, deployment: Deployment) -> bool:
        return deployment.pk == self.context.get("suspect_id")


class WindowChangeSerializer(CorrelatedChangeSerializer):
    is_suspect = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_suspect(self, change: Change) -> bool:
        return change.pk == self.context.get("suspect_change_id")


class SnapshotRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    taken_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=HealthStatus.choices)


class CheckFailuresSerializer(serializers.Serializer):
    health_check = serializers.IntegerField(source="health_check_id")
    name = serializers.CharField()
    first_failed_at = serializers.DateTimeField()
    last_failed_at = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="Failing results of this check.")
    last_error = serializers.CharField(allow_blank=True)


class BracketingSerializer(serializers.Serializer):
    before = SnapshotRefSerializer(
        allow_null=True, help_text="The last healthy snapshot at or before the start."
    )
    failing = CheckFailuresSerializer(
        many=True, help_text="Each check that failed from `before` to the end, in check order."
    )
    after = SnapshotRefSerializer(
        allow_null=True, help_text="The first healthy snapshot after the last failure."
    )


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The incident's start.")
    end = serializers.DateTimeField(help_text="Its resolution, or now while it is open.")
    deployments_from = serializers.DateTimeField(
        source="window_start",
        help_text="Deployments and changes are listed from here: "
        "HINDSIGHT_CORRELATION_WINDOW_HOURS before the start.",
    )


class MergedEventSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field, not Field.source
        choices=[
            TimelineEvent.Source.DEPLOYMENT,
            TimelineEvent.Source.CHANGE,
            TimelineEvent.Source.HEALTH,
        ]
    )
    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices)
    text = serializers.CharField()
    deployment = serializers.IntegerField(source="deployment.pk", allow_null=True, default=None)
    change = serializers.IntegerField(
        source="change.pk", allow_null=True, default=None, help_text="The change's id, if one."
    )


class CorrelationSerializer(serializers.Serializer):
    incident = serializers.CharField(help_text="The incident's reference, e.g. INC-12.")
    window = WindowSerializer()
    deployments = WindowDeploymentSerializer(many=True)
    suspect = CorrelatedDeploymentSerializer(
        allow_null=True,
        help_text="The last deployment that finished before health turned red, within the "
        "window; production first.",
    )
    last_known_good = LastKnownGoodSerializer(
        allow_null=True,
        help_text="As of the incident's start: succeeded, smoke run passed, and healthy "
        "snapshots (none failing) for HINDSIGHT_LAST_KNOWN_GOOD_MINUTES after it finished.",
    )
    changes = WindowChangeSerializer(
        many=True,
        help_text="Changes that are not deployments (configuration, feature flags, "
        "infrastructure) in the same window, oldest first.",
    )
    suspect_change = CorrelatedChangeSerializer(
        allow_null=True,
        help_text="The last change that took effect before health turned red, within the "
        "window; changes to production or the whole service first.",
    )
    bracketing = BracketingSerializer()
    events = MergedEventSerializer(
        many=True,
        help_text="Deployments, other changes and health changes within the incident's "
        "window, read from their records, as the incident page merges them into the timeline. Deployments a "
        "timeline event already names are left out.",
    )
