"""Shapes of communications and their templates over the API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from api.reads import RowSerializer, Times
from api.serializers import StrictCharField, StrictChoiceField, StrictSerializer
from incidents.communications import services
from incidents.communications.placeholders import placeholders_for
from incidents.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    Component,
    ComponentStatus,
    Phase,
)
from incidents.models.incident import REFERENCE_PREFIX
from incidents.postmortem.api.serializers.fields import markdown_field


class PlaceholderSerializer(serializers.Serializer):
    """Schema only: one placeholder a template may use."""

    name = serializers.CharField()
    help = serializers.CharField()
    public = serializers.BooleanField(help_text="False: internal, for internal audiences only.")


class CommunicationTemplateSerializer(RowSerializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    audience = serializers.ChoiceField(choices=Audience.choices)
    phase = serializers.ChoiceField(choices=[("", "None"), *Phase.choices])
    subject_template = serializers.CharField()
    body_template = serializers.CharField(help_text="Markdown with Django template placeholders.")
    updated_at = serializers.DateTimeField()
    placeholders = PlaceholderSerializer(
        many=True, help_text="What this template's audience may use."
    )

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        data["placeholders"] = [
            {"name": p.name, "help": p.help, "public": p.public}
            for p in placeholders_for(data["audience"])
        ]


class CommunicationTemplateWriteSerializer(StrictSerializer):
    """Checked like the template form: syntax, placeholders of the audience, no internals."""

    name = StrictCharField(max_length=200)
    slug = StrictCharField(max_length=100, validators=[validate_slug])
    audience = StrictChoiceField(choices=Audience.choices)
    phase = StrictChoiceField(choices=[("", "None"), *Phase.choices], default="")
    subject_template = StrictCharField(max_length=300)
    body_template = markdown_field(allow_blank=False)

    def validate_slug(self, value: str) -> str:
        taken = CommunicationTemplate.objects.filter(slug=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("Another template has this slug.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance

        def value(name: str) -> str:
            return attrs[name] if name in attrs else getattr(current, name)

        try:
            services.communication_template_check(
                audience=value("audience"),
                subject_template=value("subject_template"),
                body_template=value("body_template"),
            )
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


class DeliveryCountsSerializer(serializers.Serializer):
    """Schema only: how a sent communication's deliveries stand."""

    sent = serializers.IntegerField()
    pending = serializers.IntegerField()
    failed = serializers.IntegerField()


class StatedFactsSerializer(serializers.Serializer):
    """The facts a generated draft states, as they were when it was written, for whoever
    approves it to check. Empty for a message written by hand or imported."""

    started_at = serializers.DateTimeField(required=False)
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    duration = serializers.CharField(required=False, help_text='In words: "about 16 minutes".')
    components = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The checks that failed."
    )


class CommunicationComponentSerializer(serializers.Serializer):
    """A component a status page update names and the status it gives it when published."""

    component = serializers.IntegerField(help_text="The component's id.")
    name = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=ComponentStatus.choices)


class CommunicationSerializer(RowSerializer):
    """A communication as its incident's list, its detail and the incident's detail show it."""

    # Shapes rows of incidents.communications.selectors.communications_with_progress().

    id = serializers.IntegerField()
    # Made a reference by finish().
    incident = serializers.CharField(
        source="incident.number", help_text="The incident's reference."
    )
    template = serializers.CharField(
        source="template.slug", allow_null=True, help_text="The template's slug."
    )
    audience = serializers.ChoiceField(choices=Audience.choices)
    phase = serializers.ChoiceField(choices=[("", "None"), *Phase.choices])
    status = serializers.ChoiceField(choices=Communication.Status.choices)
    subject = serializers.CharField()
    body = serializers.CharField(help_text="Markdown.")
    body_html = serializers.CharField(help_text="The Markdown rendered and sanitized.")
    corrects = serializers.IntegerField(
        source="corrects_id",
        allow_null=True,
        help_text="The id of the sent communication this one corrects.",
    )
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, help_text="A username."
    )
    approved_by = serializers.CharField(
        source="approved_by.username", allow_null=True, help_text="A username."
    )
    approved_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    retracted_at = serializers.DateTimeField(
        allow_null=True, help_text="When a published status page update was withdrawn."
    )
    retracted_by = serializers.CharField(
        source="retracted_by.username", allow_null=True, help_text="A username."
    )
    retraction_reason = serializers.CharField(help_text="Why it was withdrawn.")
    deliveries = DeliveryCountsSerializer()
    facts = StatedFactsSerializer()
    components = CommunicationComponentSerializer(
        many=True,
        help_text="A status page update's: the components it names and the status each takes "
        "when it is published. Empty for other audiences.",
    )

    @classmethod
    def values(cls) -> list[str]:
        return [
            *super().values(),
            "deliveries_sent",
            "deliveries_pending",
            "deliveries_failed",
            "facts",
        ]

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        data["incident"] = f"{REFERENCE_PREFIX}{data['incident']}"
        read = source.get if isinstance(source, dict) else lambda name: getattr(source, name, 0)
        data["deliveries"] = {
            "sent": read("deliveries_sent") or 0,
            "pending": read("deliveries_pending") or 0,
            "failed": read("deliveries_failed") or 0,
        }
        stated = read("facts")
        facts: dict[str, Any] = dict(stated) if isinstance(stated, dict) else {}
        for name in ("started_at", "ended_at"):
            if name in facts:
                facts[name] = times(parse_datetime(facts[name] or ""))
        data["facts"] = facts
        # Prefetched by communications_with_progress(): no query per row.
        named = [] if isinstance(source, dict) else source.component_statuses.all()
        data["components"] = [
            {"component": row.component_id, "name": row.component.name, "status": row.status}
            for row in named
        ]


class GenerateSerializer(StrictSerializer):
    template = StrictCharField(max_length=100, help_text="The slug of a communication template.")

    def validate_template(self, value: str) -> CommunicationTemplate:
        template = CommunicationTemplate.objects.filter(slug=value).first()
        if template is None:
            raise serializers.ValidationError(
                "No template has this slug; GET /api/v1/communication-templates lists them."
            )
        return template


class RetractSerializer(StrictSerializer):
    reason = StrictCharField(
        max_length=2000, help_text="Why it is withdrawn; kept on the record, not shown publicly."
    )


class CommunicationComponentWriteSerializer(StrictSerializer):
    component = serializers.IntegerField(help_text="The component's id.")
    status = StrictChoiceField(choices=ComponentStatus.choices)


class CommunicationUpdateSerializer(StrictSerializer):
    subject = StrictCharField(max_length=300)
    body = markdown_field()
    components = CommunicationComponentWriteSerializer(
        many=True,
        help_text="A status page update only: the components it names and the status each "
        "takes when it is published. Replaces what it named; [] names none; leave it out to keep "
        "them.",
    )

    def validate_components(self, value: list[dict[str, Any]]) -> dict[int, str]:
        statuses = {row["component"]: row["status"] for row in value}
        if len(statuses) != len(value):
            raise serializers.ValidationError("Name each component once.")
        known = set(Component.objects.filter(pk__in=statuses).values_list("pk", flat=True))
        unknown = sorted(set(statuses) - known)
        if unknown:
            raise serializers.ValidationError(
                f"No component has the id {', '.join(map(str, unknown))}."
            )
        return statuses
