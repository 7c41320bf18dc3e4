"""The REST face's shapes: what a request may carry (validated strictly) and what a response holds.

Write serializers validate and hand back cleaned values; the views pass them to
incidents.services. Read serializers declare their fields for the schema and build each row in
one hand-written `to_representation`, which is several times faster than DRF's field-by-field
path on long lists; tests hold the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import StrictCharField
from deployments.models import Deployment, Service
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Horizon,
    Incident,
    Lesson,
    PathPriority,
    Severity,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)

# What every stored time and date must lie within: before 1970 is a typo or an epoch bug, and
# after 9999 does not survive a round trip through Python or the database.
MIN_YEAR = 1970
MAX_YEAR = 9999
# The largest id PostgreSQL's integer columns hold; anything larger cannot name a row.
MAX_ID = 2_147_483_647
MARKDOWN_MAX_LENGTH = settings.HINDSIGHT_MARKDOWN_MAX_LENGTH


def printable(text: str) -> str:
    """`text` safe to echo in a JSON answer: lone surrogates (legal in JSON input, not in
    UTF-8) become backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# --- Strict fields: JSON types are not coerced ----------------------------------------------
# StrictCharField (api.serializers) refuses non-strings and NUL; DRF's CharField lone surrogates.


def markdown_field(**kwargs: Any) -> StrictCharField:
    """Markdown as typed: whitespace kept, at most HINDSIGHT_MARKDOWN_MAX_LENGTH characters."""
    kwargs.setdefault("allow_blank", True)
    return StrictCharField(trim_whitespace=False, max_length=MARKDOWN_MAX_LENGTH, **kwargs)


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, spelled exactly; the refusal lists them and never echoes the input."""

    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def to_internal_value(self, data):
        if isinstance(data, str) and data in self.choice_strings_to_values:
            return self.choice_strings_to_values[data]
        self.fail("invalid_choice", choices=", ".join(map(str, self.choices)))


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false; "yes", 1 and "true" are refused."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "12", 12.0 and true are refused."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# Years 1970 to 9999, for the schema; the fields check the same (the date-time in UTC).
YEAR_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"


@extend_schema_field({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN})
class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time from 1970 to 9999 (in UTC). Without an offset it is read in the
    server's time zone (TIME_ZONE, UTC by default)."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date-time, e.g. 2026-01-02T06:02:00Z.",
        "out_of_range": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
        "overflow": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        try:
            year = parsed.astimezone(UTC).year
        except OverflowError:
            self.fail("out_of_range")
        if not MIN_YEAR <= year <= MAX_YEAR:
            self.fail("out_of_range")
        return parsed


@extend_schema_field({"type": "string", "format": "date", "pattern": YEAR_PATTERN})
class BoundedDateField(serializers.DateField):
    """An ISO 8601 date (YYYY-MM-DD) from 1970 to 9999."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date, e.g. 2026-01-31.",
        "out_of_range": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            self.fail("out_of_range")
        return parsed


# --- Strict serializers: unknown keys are an error, not silently dropped ---------------------


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, naming each, so a typo ("severty") is never a silent no-op.

    Keys that are only in the response (id, version, ...) count as unknown in a request.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {printable(str(name)): ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Says in the schema what StrictSerializer does: request bodies have no other keys."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


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


class TimelineEventSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices)
    source = serializers.ChoiceField(choices=TimelineEvent.Source.choices)
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField(help_text="The Markdown rendered and sanitized.")
    deployment = serializers.IntegerField(allow_null=True, help_text="A deployment's id.")
    created_by = serializers.CharField(allow_null=True, help_text="A username.")
    created_at = serializers.DateTimeField()

    def row(self, event: TimelineEvent, times: _Times) -> dict[str, Any]:
        return {
            "id": event.pk,
            "occurred_at": times(event.occurred_at),
            "kind": event.kind,
            "source": event.source,
            "text": event.text,
            "text_html": event.text_html,
            "deployment": event.deployment_id,
            "created_by": _username(event.created_by),
            "created_at": times(event.created_at),
        }


class CauseSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(
        allow_null=True, help_text="The id of the cause this one is nested under."
    )
    kind = serializers.ChoiceField(choices=Cause.Kind.choices)
    title = serializers.CharField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    deployment = serializers.IntegerField(allow_null=True, help_text="A deployment's id.")
    order = serializers.IntegerField()

    def row(self, cause: Cause, times: _Times) -> dict[str, Any]:
        return {
            "id": cause.pk,
            "parent": cause.parent_id,
            "kind": cause.kind,
            "title": cause.title,
            "detail": cause.detail,
            "detail_html": cause.detail_html,
            "deployment": cause.deployment_id,
            "order": cause.order,
        }


class LessonSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField()
    order = serializers.IntegerField()

    def row(self, lesson: Lesson, times: _Times) -> dict[str, Any]:
        return {
            "id": lesson.pk,
            "kind": lesson.kind,
            "text": lesson.text,
            "text_html": lesson.text_html,
            "order": lesson.order,
        }


class ActionItemSummarySerializer(FastReadSerializer):
    """An action item without its Markdown detail."""

    id = serializers.IntegerField()
    parent = serializers.IntegerField(
        allow_null=True, help_text="The id of the item this one is a step of."
    )
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=ActionItem.Status.choices)
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices)
    kind = serializers.ChoiceField(choices=ActionItem.Kind.choices)
    horizon = serializers.ChoiceField(choices=Horizon.choices)
    owner = serializers.CharField(allow_null=True, help_text="A username.")
    due_date = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField(help_text="Open and due before today.")
    blocks_deployments = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def row(self, item: ActionItem, times: _Times) -> dict[str, Any]:
        today = self.context.get("today")
        if today is None:
            today = self.context["today"] = timezone.localdate()
        return {
            "id": item.pk,
            "parent": item.parent_id,
            "title": item.title,
            "status": item.status,
            "priority": item.priority,
            "kind": item.kind,
            "horizon": item.horizon,
            "owner": _username(item.owner),
            "due_date": _day(item.due_date),
            "overdue": bool(
                item.due_date is not None
                and item.due_date < today
                and item.status not in ActionItem.CLOSED_STATUSES
            ),
            "blocks_deployments": item.blocks_deployments,
            "done_at": times(item.done_at),
            "order": item.order,
            "created_at": times(item.created_at),
            "updated_at": times(item.updated_at),
        }


class ActionItemSerializer(ActionItemSummarySerializer):
    """An action item of an incident, with its detail."""

    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()

    def row(self, item: ActionItem, times: _Times) -> dict[str, Any]:
        data = super().row(item, times)
        data["detail"] = item.detail
        data["detail_html"] = item.detail_html
        return data


class ActionItemListSerializer(ActionItemSummarySerializer):
    """An action item across incidents: which incident and service it belongs to, and no
    Markdown detail (read that under its incident)."""

    incident = serializers.CharField(help_text="The incident's reference, e.g. INC-12.")
    service = serializers.CharField(help_text="The incident's service's slug.")

    def row(self, item: ActionItem, times: _Times) -> dict[str, Any]:
        data = super().row(item, times)
        data["incident"] = item.incident.reference
        data["service"] = item.incident.service.slug
        return data


class SuccessCriterionSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    group = serializers.ChoiceField(choices=Horizon.choices)
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField()
    done = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField()

    def row(self, criterion: SuccessCriterion, times: _Times) -> dict[str, Any]:
        return {
            "id": criterion.pk,
            "group": criterion.group,
            "text": criterion.text,
            "text_html": criterion.text_html,
            "done": criterion.done,
            "done_at": times(criterion.done_at),
            "order": criterion.order,
        }


class StatusItemSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StatusItem.Kind.choices)
    label = serializers.CharField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True)
    pre_existing = serializers.BooleanField()
    order = serializers.IntegerField()

    def row(self, item: StatusItem, times: _Times) -> dict[str, Any]:
        return {
            "id": item.pk,
            "kind": item.kind,
            "label": item.label,
            "detail": item.detail,
            "detail_html": item.detail_html,
            "ok": item.ok,
            "pre_existing": item.pre_existing,
            "order": item.order,
        }


class SolutionOptionSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    title = serializers.CharField()
    estimate = serializers.CharField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    chosen = serializers.BooleanField()
    order = serializers.IntegerField()

    def row(self, option: SolutionOption, times: _Times) -> dict[str, Any]:
        return {
            "id": option.pk,
            "label": option.label,
            "title": option.title,
            "estimate": option.estimate,
            "detail": option.detail,
            "detail_html": option.detail_html,
            "chosen": option.chosen,
            "order": option.order,
        }


class PathPrioritySerializer(FastReadSerializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    urgent = serializers.BooleanField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    order = serializers.IntegerField()
    options = SolutionOptionSerializer(many=True)

    def row(self, priority: PathPriority, times: _Times) -> dict[str, Any]:
        option = SolutionOptionSerializer(context=self.context)
        return {
            "id": priority.pk,
            "title": priority.title,
            "urgent": priority.urgent,
            "detail": priority.detail,
            "detail_html": priority.detail_html,
            "order": priority.order,
            "options": [option.row(o, times) for o in priority.options.all()],
        }


class FinalNoteSerializer(FastReadSerializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=FinalNote.Kind.choices)
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField()
    order = serializers.IntegerField()

    def row(self, note: FinalNote, times: _Times) -> dict[str, Any]:
        return {
            "id": note.pk,
            "kind": note.kind,
            "text": note.text,
            "text_html": note.text_html,
            "order": note.order,
        }


@extend_schema_field({"type": "array", "items": {"type": "object"}, "maxItems": 0})
class CommunicationsPlaceholderField(serializers.ListField):
    """Always empty for now: status-page communications get their own API later."""


class IncidentDetailSerializer(IncidentListSerializer):
    """An incident with its whole post-mortem.

    The timeline holds the latest TIMELINE_EMBEDDED events in time order; `timeline_truncated`
    says whether there are older ones, and `timeline_url` lists them all (cursor-paginated).
    """

    summary = serializers.CharField(help_text="Markdown.")
    summary_html = serializers.CharField()
    impact = serializers.CharField(help_text="Markdown.")
    impact_html = serializers.CharField()
    resolution = serializers.CharField(help_text="Markdown.")
    resolution_html = serializers.CharField()
    next_step = serializers.CharField(help_text="Markdown.")
    next_step_html = serializers.CharField()
    created_by = serializers.CharField(allow_null=True, help_text="A username.")
    authors = serializers.ListField(child=serializers.CharField(), help_text="Usernames.")
    timeline = TimelineEventSerializer(many=True)
    timeline_truncated = serializers.BooleanField()
    timeline_url = serializers.URLField()
    causes = CauseSerializer(many=True)
    lessons = LessonSerializer(many=True)
    action_items = ActionItemSerializer(many=True)
    success_criteria = SuccessCriterionSerializer(many=True)
    status_items = StatusItemSerializer(many=True)
    priorities = PathPrioritySerializer(many=True)
    final_notes = FinalNoteSerializer(many=True)
    communications = CommunicationsPlaceholderField(
        child=serializers.DictField(),
        help_text="Always empty for now; status-page communications are coming.",
    )

    def row(self, incident: Incident, times: _Times) -> dict[str, Any]:
        data = super().row(incident, times)

        def rows(serializer_class: type[FastReadSerializer], items) -> list[dict[str, Any]]:
            serializer = serializer_class(context=self.context)
            return [serializer.row(item, times) for item in items]

        data.update(
            {
                "summary": incident.summary,
                "summary_html": incident.summary_html,
                "impact": incident.impact,
                "impact_html": incident.impact_html,
                "resolution": incident.resolution,
                "resolution_html": incident.resolution_html,
                "next_step": incident.next_step,
                "next_step_html": incident.next_step_html,
                "created_by": _username(incident.created_by),
                "authors": [_username(user) for user in incident.authors.all()],
                # Set by the view: the latest events, and whether there are more.
                "timeline": rows(TimelineEventSerializer, incident.embedded_timeline),
                "timeline_truncated": incident.timeline_truncated,
                "timeline_url": self.context["timeline_url"],
                "causes": rows(CauseSerializer, incident.causes.all()),
                "lessons": rows(LessonSerializer, incident.lessons.all()),
                "action_items": rows(ActionItemSerializer, incident.action_items.all()),
                "success_criteria": rows(
                    SuccessCriterionSerializer, incident.success_criteria.all()
                ),
                "status_items": rows(StatusItemSerializer, incident.status_items.all()),
                "priorities": rows(PathPrioritySerializer, incident.priorities.all()),
                "final_notes": rows(FinalNoteSerializer, incident.final_notes.all()),
                "communications": [],
            }
        )
        return data


# --- Incident writes -----------------------------------------------------------------------

# The incident's times that must not lie before its start.
LATER_TIMES = ("detected_at", "mitigated_at", "resolved_at")


class ServiceSlugField(StrictCharField):
    """A service by its slug."""

    default_error_messages = {"unknown": "No service has this slug."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=100, **kwargs)

    def run_validation(self, data=serializers.empty):
        # After the string checks (type, NUL, length), so the lookup only sees a clean slug.
        slug = super().run_validation(data)
        if slug is None:
            return None
        service = Service.objects.filter(slug=slug).first()
        if service is None:
            self.fail("unknown")
        return service


def _check_times(attrs: dict[str, Any], instance: Incident | None) -> None:
    """Detected, mitigated and resolved cannot be before the start; the field the request
    changed carries the error."""
    started = attrs.get("started_at", getattr(instance, "started_at", None))
    if started is None:
        return
    errors: dict[str, str] = {}
    for name in LATER_TIMES:
        value = attrs[name] if name in attrs else getattr(instance, name, None)
        if value is not None and value < started:
            field = name if name in attrs else "started_at"
            label = Incident._meta.get_field(name).verbose_name
            errors.setdefault(field, f"The {label} time cannot be before the start.")
    if errors:
        raise serializers.ValidationError(errors)


class IncidentCreateSerializer(StrictSerializer):
    """Declares an incident. It starts as investigating, with a draft post-mortem."""

    service = ServiceSlugField(help_text="The affected service's slug.")
    title = StrictCharField(max_length=200)
    severity = StrictChoiceField(choices=Severity.choices, default=Severity.SEV3)
    started_at = BoundedDateTimeField()
    detected_at = BoundedDateTimeField(allow_null=True, default=None)
    mitigated_at = BoundedDateTimeField(allow_null=True, default=None)
    status_line = StrictCharField(max_length=200, allow_blank=True, default="")
    summary = markdown_field(default="")
    impact = markdown_field(default="")
    resolution = markdown_field(default="")
    next_step = markdown_field(default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_times(attrs, self.instance)
        return attrs


class IncidentUpdateSerializer(IncidentCreateSerializer):
    """Edits the incident row. PUT sends every field (omitted optional ones return to their
    defaults); PATCH only the ones to change. Status and post-mortem state change through their
    actions (resolve, postmortem-state)."""

    resolved_at = BoundedDateTimeField(allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if (
            "resolved_at" in attrs
            and attrs["resolved_at"] is None
            and self.instance is not None
            and self.instance.status == Incident.Status.RESOLVED
        ):
            raise serializers.ValidationError(
                {"resolved_at": "A resolved incident keeps its resolution time."}
            )
        return attrs


class ResolveSerializer(StrictSerializer):
    resolved_at = BoundedDateTimeField(
        required=False, help_text="When it was resolved; now if omitted."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        incident: Incident = self.context["incident"]
        at = attrs.get("resolved_at")
        if at is not None and at < incident.started_at:
            raise serializers.ValidationError(
                {"resolved_at": "The resolution time cannot be before the start."}
            )
        return attrs


class PostmortemStateSerializer(StrictSerializer):
    state = StrictChoiceField(choices=Incident.PostmortemState.choices)


# --- Section row writes ----------------------------------------------------------------------


class IncidentRowSerializer(StrictSerializer):
    """A row of one incident's section. `context["incident"]` is the incident of the URL;
    references to other rows (parent, deployment) must belong with it."""

    model: type = None  # type: ignore[assignment]

    @property
    def incident(self) -> Incident:
        return self.context["incident"]

    def validate_parent(self, value: int | None):
        if value is None:
            return None
        # Nest only under a top-level row of the same incident, never under itself.
        parents = self.model.objects.filter(incident=self.incident, parent__isnull=True)
        if self.instance is not None:
            parents = parents.exclude(pk=self.instance.pk)
        parent = parents.filter(pk=value).first()
        if parent is None:
            raise serializers.ValidationError(
                "Must be the id of a top-level row of this incident, other than this one."
            )
        if self.instance is not None and self.instance.children.exists():
            raise serializers.ValidationError("This row has rows nested under it.")
        return parent

    def validate_deployment(self, value: int | None) -> Deployment | None:
        if value is None:
            return None
        deployment = Deployment.objects.filter(
            pk=value, environment__service_id=self.incident.service_id
        ).first()
        if deployment is None:
            raise serializers.ValidationError(
                "Must be the id of a deployment of this incident's service."
            )
        return deployment


class TimelineEventWriteSerializer(IncidentRowSerializer):
    model = TimelineEvent

    occurred_at = BoundedDateTimeField()
    kind = StrictChoiceField(choices=TimelineEvent.Kind.choices, default=TimelineEvent.Kind.NOTE)
    text = markdown_field(allow_blank=False)
    deployment = id_field(allow_null=True, default=None, help_text="A deployment's id.")


class CauseWriteSerializer(IncidentRowSerializer):
    model = Cause

    kind = StrictChoiceField(choices=Cause.Kind.choices, default=Cause.Kind.CONTRIBUTING)
    title = StrictCharField(max_length=300)
    detail = markdown_field(default="")
    parent = id_field(allow_null=True, default=None, help_text="Nest under this cause's id.")
    deployment = id_field(allow_null=True, default=None, help_text="A deployment's id.")


class LessonWriteSerializer(IncidentRowSerializer):
    model = Lesson

    kind = StrictChoiceField(choices=Lesson.Kind.choices)
    text = markdown_field(allow_blank=False)


class OwnerField(StrictCharField):
    """A person by username; null for nobody."""

    default_error_messages = {"unknown": "No active user has this username."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=150, **kwargs)

    def run_validation(self, data=serializers.empty):
        username = super().run_validation(data)
        if username is None:
            return None
        user_model = get_user_model()
        user = user_model.objects.filter(
            is_active=True, **{user_model.USERNAME_FIELD: username}
        ).first()
        if user is None:
            self.fail("unknown")
        return user


class ActionItemWriteSerializer(IncidentRowSerializer):
    """An action item's own fields. Its status changes through /complete and /reopen."""

    model = ActionItem

    title = StrictCharField(max_length=300)
    detail = markdown_field(default="")
    priority = StrictChoiceField(
        choices=ActionItem.Priority.choices, default=ActionItem.Priority.P2
    )
    kind = StrictChoiceField(choices=ActionItem.Kind.choices, default=ActionItem.Kind.PREVENT)
    horizon = StrictChoiceField(choices=Horizon.choices, default=Horizon.THIS_WEEK)
    owner = OwnerField(allow_null=True, default=None, help_text="A username, or null.")
    due_date = BoundedDateField(allow_null=True, default=None)
    blocks_deployments = StrictBooleanField(default=False)
    parent = id_field(allow_null=True, default=None, help_text="Make it a step of this item.")


class SuccessCriterionWriteSerializer(IncidentRowSerializer):
    model = SuccessCriterion

    group = StrictChoiceField(choices=Horizon.choices, default=Horizon.BEFORE_NEXT_DEPLOYMENT)
    text = StrictCharField(max_length=500)
    done = StrictBooleanField(default=False, help_text="Met; ticking it stamps done_at.")
