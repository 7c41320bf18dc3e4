"""Request shapes for incidents and their section rows; validation only, no side effects."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models
from rest_framework import serializers

from api.serializers import (
    BoundedDateField,
    BoundedDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from deployments.models import Deployment, Service
from incidents.models import (
    ActionItem,
    Cause,
    Horizon,
    Incident,
    Lesson,
    Severity,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.references import LABEL_PATTERN, SOURCE_PATTERN
from incidents.postmortem.api.serializers.fields import id_field, markdown_field
from incidents.postmortem.services.references import MAX_LABELS, MAX_REFERENCES

# --- Incident writes -----------------------------------------------------------------------

# The incident's times that must not lie before its start.
LATER_TIMES = ("detected_at", "mitigated_at", "resolved_at")


class ServiceSlugField(StrictCharField):
    """A service by its slug."""

    default_error_messages = {"unknown": "No service has this slug."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=100, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Service | None:
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
            model_field = Incident._meta.get_field(name)
            assert isinstance(model_field, models.Field)  # a column, not a relation
            label = model_field.verbose_name
            errors.setdefault(field, f"The {label} time cannot be before the start.")
    if errors:
        raise serializers.ValidationError(errors)


class ExternalReferenceSerializer(StrictSerializer):
    """The incident's id in another system. A source's key names one incident only."""

    # The metaclass takes declared fields off the class, so this does not shadow Field.source.
    source = serializers.RegexField(  # type: ignore[assignment]
        SOURCE_PATTERN, max_length=40, help_text="The other system, e.g. `pager` or `tickets`."
    )
    key = StrictCharField(max_length=200, help_text="The incident's id in that system.")
    url = serializers.URLField(max_length=2000, allow_blank=True, default="")


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
    external_references = ExternalReferenceSerializer(  # type: ignore[call-arg]  # many=True passes max_length to the ListSerializer
        many=True,
        required=False,
        max_length=MAX_REFERENCES,
        help_text=(
            "Replaces the incident's references when sent; left as they are when omitted (in "
            "PUT too). A key another incident holds in the same source answers 409 naming it."
        ),
    )
    labels = serializers.ListField(
        child=serializers.RegexField(LABEL_PATTERN, max_length=50),
        required=False,
        max_length=MAX_LABELS,
        help_text=(
            "Lower-case names such as `customer-facing`. Replaces the incident's labels when "
            "sent; left as they are when omitted (in PUT too)."
        ),
    )

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


class DuplicateOfSerializer(StrictSerializer):
    """Marks the incident as a duplicate of another, or (null) undoes that."""

    duplicate_of = StrictCharField(
        max_length=20,
        allow_null=True,
        help_text=(
            "The reference of the incident this one duplicates (INC-12, inc-12 or 12); a "
            "duplicate of a duplicate is linked to the original. null: no longer a duplicate."
        ),
    )

    def validate_duplicate_of(self, value: str | None) -> Incident | None:
        if value is None:
            return None
        try:
            return Incident.objects.by_reference(value)
        except Incident.DoesNotExist:
            raise serializers.ValidationError("No incident has this reference.") from None


# --- Section row writes ----------------------------------------------------------------------


class IncidentRowSerializer(StrictSerializer):
    """A row of one incident's section. `context["incident"]` is the incident of the URL;
    references to other rows (parent, deployment) must belong with it."""

    model: type[models.Model] = None  # type: ignore[assignment]  # every subclass sets it

    @property
    def incident(self) -> Incident:
        return self.context["incident"]

    def validate_parent(self, value: int | None) -> models.Model | None:
        if value is None:
            return None
        # Nest only under a top-level row of the same incident, never under itself.
        parents = self.model._default_manager.filter(incident=self.incident, parent__isnull=True)
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
    category = StrictChoiceField(
        choices=Cause.Category.choices,
        allow_blank=True,
        default="",
        help_text="What sort of failure it was; empty: not categorised.",
    )
    title = StrictCharField(max_length=300)
    detail = markdown_field(default="")
    parent = id_field(allow_null=True, default=None, help_text="Nest under this cause's id.")  # type: ignore[assignment]  # a declared field, not Field.parent
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

    def run_validation(self, data: Any = serializers.empty) -> User | None:
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
    """An action item's own fields. Its status changes through /start, /complete, /wont-do and
    /reopen."""

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
    parent = id_field(allow_null=True, default=None, help_text="Make it a step of this item.")  # type: ignore[assignment]  # a declared field, not Field.parent


class SuccessCriterionWriteSerializer(IncidentRowSerializer):
    model = SuccessCriterion

    group = StrictChoiceField(choices=Horizon.choices, default=Horizon.BEFORE_NEXT_DEPLOYMENT)
    text = StrictCharField(max_length=500)
    done = StrictBooleanField(default=False, help_text="Met; ticking it stamps done_at.")


# --- Action item transitions -------------------------------------------------------------------

REASON_MAX_LENGTH = ActionItem._meta.get_field("closed_reason").max_length
CLOSE_CHILDREN_CHOICES = [
    (ActionItem.Status.DONE.value, ActionItem.Status.DONE.label),
    (ActionItem.Status.WONT_DO.value, ActionItem.Status.WONT_DO.label),
]


def _close_children_field() -> StrictChoiceField:
    return StrictChoiceField(
        choices=CLOSE_CHILDREN_CHOICES,
        required=False,
        help_text=(
            "Close the item's open steps (at any depth) with it: as `done`, or as `wont_do` "
            "with `reason`. Without it, an item with open steps is refused with 409."
        ),
    )


class ActionItemCompleteSerializer(StrictSerializer):
    """Ticks an item done; says how to close its open steps, if it has any. The body may be
    empty."""

    close_children = _close_children_field()
    reason = StrictCharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        help_text="Why the steps will not be done; needed with close_children `wont_do`.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("close_children") == ActionItem.Status.WONT_DO
            and not attrs.get("reason", "").strip()
        ):
            raise serializers.ValidationError({"reason": "Say why the steps will not be done."})
        return attrs


class ActionItemWontDoSerializer(StrictSerializer):
    """Decides against an item, saying why."""

    reason = StrictCharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why it will not be done; kept on one line, and cleared by reopen.",
    )
    close_children = _close_children_field()
