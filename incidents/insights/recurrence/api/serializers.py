"""The similar past incidents as the API answers them: what the incident page's panel shows."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.insights.recurrence import selectors
from incidents.models import ActionItem, Cause, Incident, Severity
from incidents.postmortem.api.serializers.read import ServiceRefSerializer

# Why an incident is similar, in the API's words, in the order the panel names them.
REASONS = {
    selectors.CHECKS: "same_checks",
    selectors.CATEGORY: "same_category",
    selectors.CATEGORY_ELSEWHERE: "same_category_elsewhere",
    selectors.TEXT: "close_text",
}
REASON_NAMES = tuple(REASONS.values())


class SimilarActionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(
        choices=ActionItem.Status.choices, help_text="open or in_progress: the items still open."
    )
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices)
    owner = serializers.CharField(source="owner.username", allow_null=True, help_text="A username.")
    due_date = serializers.DateField(allow_null=True)


class SimilarIncidentSerializer(serializers.Serializer):
    reference = serializers.CharField(source="incident.reference", help_text="e.g. INC-12.")
    title = serializers.CharField(source="incident.title")
    service = ServiceRefSerializer(source="incident.service")
    severity = serializers.ChoiceField(source="incident.severity", choices=Severity.choices)
    status = serializers.ChoiceField(source="incident.status", choices=Incident.Status.choices)
    started_at = serializers.DateTimeField(source="incident.started_at")
    reasons = serializers.SerializerMethodField(
        help_text=(
            "Why it is similar, strongest first: same_checks (a health check that failed in "
            "this incident failed in it too, on the same service), same_category (a cause of "
            "the same category, on the same service), same_category_elsewhere (the same, on "
            "another service: it only ranks an incident found another way), close_text (its "
            "title shares at least half of this one's distinctive words)."
        )
    )
    category = serializers.ChoiceField(
        choices=Cause.Category.choices,
        allow_blank=True,
        help_text="The cause category it shares with this incident; empty when none.",
    )
    open_action_items = SimilarActionItemSerializer(
        source="open_items",
        many=True,
        help_text=f"Its open action items, soonest due first; the first {selectors.ITEMS_SHOWN}.",
    )
    open_action_items_count = serializers.IntegerField(
        source="open_count", help_text="How many of its action items are open in all."
    )

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=REASON_NAMES)))
    def get_reasons(self, similar: selectors.Similar) -> list[str]:
        return [name for reason, name in REASONS.items() if reason in similar.reasons]
