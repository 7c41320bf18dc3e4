"""Response shapes for incident lists, built in one hand-written to_representation for speed."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from deployments.models import Service
from incidents.models import (
    Incident,
    Severity,
)

# --- Read shapes ---------------------------------------------------------------------------


class _Times:
    """Formats times as DRF's DateTimeField does (in the current time zone, UTC as "Z"),
    reading the zone once per response rather than once per value."""

    def __init__(self) -> None:
        self.zone: tzinfo = timezone.get_current_timezone()

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        text = value.astimezone(self.zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


class FastReadSerializer(serializers.Serializer):
    """Declared fields describe the output; `row()` builds it."""

    def to_representation(self, instance) -> dict[str, Any]:
        times = self.context.get("_times")
        if times is None:
            times = self.context["_times"] = _Times()
        return self.row(instance, times)

    def row(self, instance, times: _Times) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


class ServiceRefSerializer(FastReadSerializer):
    slug = serializers.CharField()
    name = serializers.CharField()

    def row(self, service: Service, times: _Times) -> dict[str, Any]:
        return {"slug": service.slug, "name": service.name}


INCIDENT_LIST_FIELDS = (
    "number",
    "title",
    "severity",
    "status",
    "postmortem_state",
    "status_line",
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
    "version",
    "created_at",
    "updated_at",
    "service__slug",
    "service__name",
)


class IncidentListSerializer(FastReadSerializer):
    """An incident in a list: its facts without the post-mortem's prose or sections."""

    reference = serializers.CharField(help_text="INC-<number>; addresses it in URLs.")
    number = serializers.IntegerField()
    title = serializers.CharField()
    service = ServiceRefSerializer()
    severity = serializers.ChoiceField(choices=Severity.choices)
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    postmortem_state = serializers.ChoiceField(choices=Incident.PostmortemState.choices)
    status_line = serializers.CharField()
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField(allow_null=True)
    mitigated_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="Also the ETag; send it back in If-Match.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def row(self, incident: Incident, times: _Times) -> dict[str, Any]:
        return {
            "reference": incident.reference,
            "number": incident.number,
            "title": incident.title,
            "service": {"slug": incident.service.slug, "name": incident.service.name},
            "severity": incident.severity,
            "status": incident.status,
            "postmortem_state": incident.postmortem_state,
            "status_line": incident.status_line,
            "started_at": times(incident.started_at),
            "detected_at": times(incident.detected_at),
            "mitigated_at": times(incident.mitigated_at),
            "resolved_at": times(incident.resolved_at),
            "version": incident.version,
            "created_at": times(incident.created_at),
            "updated_at": times(incident.updated_at),
        }
