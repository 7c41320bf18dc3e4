"""The gate's shapes: the question CI asks, the answer, the record of answers, and the rules."""

from __future__ import annotations

from rest_framework import serializers

from api.reads import RowSerializer
from api.serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
)
from deployments.api.serializers.fields import (
    MANIFEST_MAX_FILES,
    PG_BIGINT_MAX,
    PG_INT_MAX,
    StrictRegexField,
    StrictSerializer,
    StrictSlugField,
)
from deployments.api.serializers.manifest import ManifestField
from deployments.gate import Outcome
from deployments.models import GateRule, GateRun

# --- Asking the gate ------------------------------------------------------------------------------


class GateRequestSerializer(StrictSerializer):
    service = StrictSlugField(max_length=100, help_text="The service's slug.")
    environment = StrictCharField(
        max_length=50, help_text="The environment's name within the service, e.g. production."
    )
    commit = StrictRegexField(
        r"^[0-9a-fA-F]{4,64}$", help_text="Hex commit id of the build, 4 to 64 digits."
    )
    manifest = ManifestField(
        help_text=f"The build's files, at most {MANIFEST_MAX_FILES} (more answers 413), each "
        "path once, as the CI client computes them from the build folder."
    )
    rollback = StrictBooleanField(
        default=False,
        help_text="This deployment rolls back to an earlier build: the health rule lets it "
        "through a failing environment.",
    )


class GateReasonSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=GateRule.Kind.choices, help_text="The rule's kind.")
    rule_id = serializers.IntegerField(
        allow_null=True, help_text="The rule's id (see /api/v1/gate-rules)."
    )
    action = serializers.ChoiceField(
        choices=GateRule.Action.choices, help_text="What the rule is set to do when it finds fault."
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        help_text="pass; warn (a warn-only rule found fault, or could not judge); block.",
    )
    message = serializers.CharField(help_text="What the rule found, in a sentence.")
    found = serializers.DictField(
        help_text="What the rule looked at, by name: e.g. path, size and min_size for a "
        "required artifact; the items for blocking action items."
    )


class GateAnswerSerializer(RowSerializer):
    """Both answers, pass (200) and block (409), have this shape."""

    verdict = serializers.ChoiceField(choices=GateRun.Verdict.choices)
    reasons = serializers.ListField(
        child=GateReasonSerializer(), help_text="One per enabled rule, in the rules' order."
    )
    gate_run = serializers.IntegerField(source="id", help_text="The id of the stored answer.")
    service = serializers.SlugField(source="service.slug")
    environment = serializers.CharField(source="environment.name")
    commit_sha = serializers.CharField()
    manifest_digest = serializers.CharField(
        help_text="SHA-256 over the sorted manifest, as deployments record it."
    )
    artifact_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


# --- The record -----------------------------------------------------------------------------------


class GateRunSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    environment = serializers.CharField(
        source="environment.name", help_text="The environment's name."
    )
    commit_sha = serializers.CharField()
    manifest_digest = serializers.CharField()
    artifact_count = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=GateRun.Verdict.choices)
    reasons = serializers.ListField(child=GateReasonSerializer())
    requested_by = serializers.CharField(
        source="requested_by.username",
        allow_null=True,
        help_text="Username of who asked; null for the demo or a deleted user.",
    )
    deployment = serializers.IntegerField(
        source="deployment_id",
        allow_null=True,
        help_text="The deployment recorded afterwards with the same commit and build, if any.",
    )
    created_at = serializers.DateTimeField()


# --- Rules ----------------------------------------------------------------------------------------


class GateRuleSerializer(RowSerializer):
    id = serializers.IntegerField()
    service = serializers.SlugField(source="service.slug", help_text="The service's slug.")
    environment = serializers.CharField(
        source="environment.name", help_text="The environment's name."
    )
    kind = serializers.ChoiceField(choices=GateRule.Kind.choices)
    action = serializers.ChoiceField(choices=GateRule.Action.choices)
    path = serializers.CharField()
    min_size = serializers.IntegerField(allow_null=True)
    max_size = serializers.IntegerField(allow_null=True)
    enabled = serializers.BooleanField()
    order = serializers.IntegerField()


class _GateRuleFields(StrictSerializer):
    kind = StrictChoiceField(choices=GateRule.Kind.choices)
    action = StrictChoiceField(
        choices=GateRule.Action.choices,
        default=GateRule.Action.BLOCK,
        help_text="block stops the deployment; warn only reports.",
    )
    path = StrictCharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Required artifact: the file, e.g. `_worker.js` (required). Stale build: the "
        "file to compare, or empty for the whole build. Other kinds take no path.",
    )
    min_size = StrictIntegerField(
        min_value=0,
        max_value=PG_BIGINT_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="Bytes; required artifact rules only.",
    )
    max_size = StrictIntegerField(
        min_value=0,
        max_value=PG_BIGINT_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="Bytes; required artifact rules only, not below min_size.",
    )
    enabled = StrictBooleanField(default=True)
    order = StrictIntegerField(
        min_value=0, max_value=PG_INT_MAX, default=0, help_text="Lower runs first."
    )


class GateRuleCreateSerializer(_GateRuleFields):
    service = StrictSlugField(
        max_length=100, help_text="The service's slug; an unknown one answers 404."
    )
    environment = StrictCharField(max_length=50, help_text="The environment's name.")


class GateRuleUpdateSerializer(_GateRuleFields):
    """The environment is not here: a rule never moves to another environment."""
