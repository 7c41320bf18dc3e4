"""The feed's shapes: an event, and a page of them with the cursor to ask with next."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from feed.kinds import EventKind
from feed.models import FeedEvent


class FeedEventSerializer(serializers.Serializer):
    position = serializers.IntegerField(
        help_text="The event's place in the feed; pass the last one read as `after`."
    )
    kind = serializers.ChoiceField(choices=EventKind.choices)
    subject = serializers.CharField(
        help_text='What it is about: "incident", "action_item", "deployment", "gate", '
        '"change" or "message".'
    )
    subject_id = serializers.CharField(
        help_text="An incident's reference (INC-7); otherwise the subject's id in the API."
    )
    incident = serializers.CharField(
        allow_null=True, help_text="The incident's reference when the subject belongs to one."
    )
    data = serializers.DictField(  # type: ignore[assignment]  # a declared field, not Serializer.data
        help_text="The subject as its API detail showed it then (same field names); for a "
        "deletion, its identifiers only."
    )
    changes = serializers.ListField(
        child=serializers.CharField(),
        help_text="For incident.updated: the fields and sections that changed.",
    )
    actor = serializers.CharField(
        allow_null=True,
        help_text="The username, or the API token's name; null for Hindsight itself.",
    )
    occurred_at = serializers.DateTimeField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        event: FeedEvent = instance
        return {
            "position": event.position,
            "kind": event.kind,
            "subject": event.subject,
            "subject_id": event.subject_id,
            "incident": event.incident or None,
            "data": event.data,
            "changes": event.changes,
            "actor": event.actor or None,
            "occurred_at": serializers.DateTimeField().to_representation(event.occurred_at),
        }


class FeedPageSerializer(serializers.Serializer):
    """Schema only."""

    next = serializers.CharField(
        help_text="The cursor to pass as `after` next time (also when `results` is empty)."
    )
    results = FeedEventSerializer(many=True)
