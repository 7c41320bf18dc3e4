"""The REST shapes of webhooks: endpoints, deliveries with their attempts, and the envelope
every delivery POSTs (WebhookEvent, the payload's component in the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from deployments.probing import validate_target_url
from incidents.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import every_event_kind
from incidents.webhooks import payloads


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """A webhook endpoint. Its signing secret is shown only when it is made or rotated."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=payloads.FOLLOWABLE_KINDS),
        help_text="The event kinds POSTed to it.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "events", "active", "created_at"]
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    """The endpoint and its signing secret: in this answer only."""

    secret = serializers.CharField(help_text="The signing secret. Shown in this answer only.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointWriteSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    url = serializers.URLField(
        max_length=2000, help_text="Private and loopback addresses are refused."
    )
    events = serializers.ListField(
        child=StrictChoiceField(choices=payloads.FOLLOWABLE_KINDS),
        required=False,
        allow_empty=True,
        max_length=len(payloads.FOLLOWABLE_KINDS),
        help_text="The kinds it follows; a new endpoint follows every event of the feed "
        "unless told otherwise. Empty: test pings only.",
    )
    active = StrictBooleanField(required=False)

    def validate_url(self, url: str) -> str:
        try:
            validate_target_url(url)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return url

    def validate_events(self, events: list[str]) -> list[str]:
        # Kept in the feed's order, once each: the same choice reads the same however sent.
        chosen = set(events)
        return [value for value, _label in payloads.FOLLOWABLE_KINDS if value in chosen]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None:
            data.setdefault("events", every_event_kind())
        return data


class WebhookEventSerializer(serializers.Serializer):
    """What every delivery POSTs, as JSON: one envelope for every kind.

    Headers: X-Hindsight-Signature is `sha256=` and the hex HMAC-SHA256, keyed with the
    endpoint's secret, of "<X-Hindsight-Timestamp>.<body>"; X-Hindsight-Event is the kind,
    X-Hindsight-Event-Id the id and X-Hindsight-Delivery the delivery. Drop an id you have seen
    (retries and redeliveries repeat it) and a timestamp older than a few minutes (a replay).
    """

    id = serializers.CharField(help_text="The event's id: the same on retries and redeliveries.")
    kind = serializers.ChoiceField(choices=payloads.ENVELOPE_KINDS)
    occurred_at = serializers.DateTimeField()
    subject_id = serializers.CharField(
        help_text="What the API names the subject by: an incident's reference, else an id."
    )
    incident = serializers.CharField(
        allow_blank=True, help_text="The incident's reference when the subject belongs to one."
    )
    actor = serializers.CharField(
        allow_blank=True,
        help_text="Who did it (a username or a token's name); empty for the system.",
    )
    # The envelope's member; DRF's metaclass takes declared fields off the class, so the
    # serializer's own `.data` is untouched.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="The subject as the API shows it at that moment; for a deletion, its "
        "identifiers only; for a ping, the endpoint's name."
    )
    delivery = serializers.IntegerField(help_text="This delivery's id (new on a redelivery).")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "status_code", "answer", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event to one endpoint, every attempt with the start of its answer, and the payload."""

    event_id = serializers.CharField(source="event_key")
    attempts = WebhookAttemptSerializer(source="attempt_log", many=True)
    payload = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "kind",
            "event_id",
            "status",
            "redelivery_of",
            "created_at",
            "sent_at",
            "attempts",
            "payload",
        ]
        read_only_fields = fields

    @extend_schema_field(WebhookEventSerializer)
    def get_payload(self, delivery: WebhookDelivery) -> dict[str, Any]:
        return payloads.envelope(delivery)
