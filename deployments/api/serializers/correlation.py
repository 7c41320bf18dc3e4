"""Deployments and changes as the correlation reads return them: the last known good with its
rollback command. Shared by GET /environments/{id}/last-known-good and the incident's
correlation."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers import BoundedDateTimeField
from deployments.models import Change, Deployment


class RollbackCommandSerializer(serializers.Serializer):
    text = serializers.CharField(
        help_text="The command to run; the template unchanged when `rendered` is false."
    )
    rendered = serializers.BooleanField(
        help_text="False when the template has a placeholder other than {external_id} and "
        "{commit}, or does not parse; `problem` says which."
    )
    problem = serializers.CharField(allow_blank=True)


class CorrelatedDeploymentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    environment = serializers.CharField(source="environment.name")
    external_id = serializers.CharField()
    commit_sha = serializers.CharField()
    branch = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Deployment.Status.choices)
    health = serializers.ChoiceField(
        choices=Deployment.Health.choices, help_text="What the smoke run after it found."
    )
    health_checked_at = serializers.DateTimeField(allow_null=True)
    deployed_by = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    rollback_of = serializers.IntegerField(
        source="rollback_of_id", allow_null=True, help_text="The deployment this one replaced."
    )


class CorrelatedChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    environment = serializers.CharField(
        source="environment.name",
        allow_null=True,
        default=None,
        help_text="Null for a change to the whole service.",
    )
    kind = serializers.ChoiceField(choices=Change.Kind.choices)
    summary = serializers.CharField()
    link = serializers.CharField(allow_blank=True, help_text="Never fetched by Hindsight.")
    at = serializers.DateTimeField(help_text="When it took effect.")
    by = serializers.CharField(allow_blank=True)
    external_id = serializers.CharField(allow_blank=True)


class LastKnownGoodSerializer(CorrelatedDeploymentSerializer):
    rollback_command = RollbackCommandSerializer(
        allow_null=True,
        help_text="Built from the environment's rollback_command_template; null without one.",
    )


class LastKnownGoodQuerySerializer(serializers.Serializer):
    before = BoundedDateTimeField(
        required=False,
        help_text="As of this moment instead of now (ISO 8601): where to roll back to at the "
        "start of an incident, say.",
    )
