"""Response shapes of an incident's section rows (api.reads.RowSerializer).

Each shapes a `.values()` row or an instance (a prefetched section of the detail view, a row just
written) the same way.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from api.reads import RowSerializer, Times
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Horizon,
    Lesson,
    StatusItem,
    TimelineEvent,
)
from incidents.models.incident import REFERENCE_PREFIX


class TimelineEventSerializer(RowSerializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices)
    source = serializers.ChoiceField(choices=TimelineEvent.Source.choices)  # type: ignore[assignment]  # a declared field, not Field.source
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField(help_text="The Markdown rendered and sanitized.")
    deployment = serializers.IntegerField(
        source="deployment_id", allow_null=True, help_text="A deployment's id."
    )
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, help_text="A username."
    )
    hidden = serializers.BooleanField(
        help_text="Left out of the published post-mortem (its exports and the printed page). "
        "Lines Hindsight wrote itself (`source` other than `manual`) cannot be changed or "
        "deleted; they are hidden instead."
    )
    proposed = serializers.BooleanField(
        help_text="Proposed by the draft from the facts and not yet kept: left out of exports "
        "until someone keeps it (POST /incidents/{ref}/draft/keep)."
    )
    created_at = serializers.DateTimeField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )


class CauseSerializer(RowSerializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(  # type: ignore[assignment]  # a declared field, not Field.parent
        source="parent_id",
        allow_null=True,
        help_text="The id of the cause this one is nested under.",
    )
    kind = serializers.ChoiceField(choices=Cause.Kind.choices)
    category = serializers.ChoiceField(
        choices=Cause.Category.choices, allow_blank=True, help_text="Empty: not categorised."
    )
    title = serializers.CharField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    deployment = serializers.IntegerField(
        source="deployment_id", allow_null=True, help_text="A deployment's id."
    )
    proposed = serializers.BooleanField(
        help_text="Proposed by the draft from the facts and not yet kept: left out of exports "
        "until someone keeps it (POST /incidents/{ref}/draft/keep)."
    )
    order = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )


class _KindTextSerializer(RowSerializer):
    """A row that is a kind and a Markdown text: lessons and final notes."""

    id = serializers.IntegerField()
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )


class LessonSerializer(_KindTextSerializer):
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)


class ActionItemSummarySerializer(RowSerializer):
    """An action item without its Markdown detail."""

    id = serializers.IntegerField()
    parent = serializers.IntegerField(  # type: ignore[assignment]  # a declared field, not Field.parent
        source="parent_id", allow_null=True, help_text="The id of the item this one is a step of."
    )
    title = serializers.CharField()
    status = serializers.ChoiceField(
        choices=ActionItem.Status.choices,
        help_text=(
            "open, in_progress (someone is on it), done, or wont_do (decided against, with "
            "`closed_reason`). Only open and in_progress count as open, overdue or blocking."
        ),
    )
    closed_reason = serializers.CharField(
        help_text="Why it will not be done: set with wont_do, empty otherwise."
    )
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices)
    kind = serializers.ChoiceField(choices=ActionItem.Kind.choices)
    horizon = serializers.ChoiceField(choices=Horizon.choices)
    owner = serializers.CharField(source="owner.username", allow_null=True, help_text="A username.")
    due_date = serializers.DateField(allow_null=True)
    # Worked out by finish() from the due date and the status.
    overdue = serializers.BooleanField(source="due_date", help_text="Open and due before today.")
    blocks_deployments = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        today = self.context.get("today")
        if today is None:
            today = self.context["today"] = timezone.localdate()  # type: ignore[index]  # the dict shape() passed; the stubs make it read-only
        due = data["due_date"]
        data["overdue"] = bool(
            due is not None and due < today and data["status"] not in ActionItem.CLOSED_STATUSES
        )


class ActionItemSerializer(ActionItemSummarySerializer):
    """An action item of an incident, with its detail."""

    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()


class ActionItemListSerializer(ActionItemSummarySerializer):
    """An action item across incidents: which incident and service it belongs to, and no
    Markdown detail (read that under its incident)."""

    # Made a reference by finish().
    incident = serializers.CharField(
        source="incident.number", help_text="The incident's reference, e.g. INC-12."
    )
    service = serializers.CharField(
        source="incident.service.slug", help_text="The incident's service's slug."
    )

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        super().finish(data, source, times)
        data["incident"] = f"{REFERENCE_PREFIX}{data['incident']}"


class SuccessCriterionSerializer(RowSerializer):
    id = serializers.IntegerField()
    group = serializers.ChoiceField(choices=Horizon.choices)
    text = serializers.CharField(help_text="Markdown.")
    text_html = serializers.CharField()
    done = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )


class StatusItemSerializer(RowSerializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StatusItem.Kind.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True)
    warning = serializers.BooleanField(help_text="Needs attention: neither healthy nor failing.")
    pre_existing = serializers.BooleanField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )


class SolutionOptionSerializer(RowSerializer):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    title = serializers.CharField()
    estimate = serializers.CharField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    chosen = serializers.BooleanField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )


class PathPrioritySerializer(RowSerializer):
    """A priority of the path forward; shaped from an instance with its options prefetched."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    urgent = serializers.BooleanField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.CharField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(
        help_text="The row's version, also its ETag: send it in If-Match to change or delete it."
    )
    options = SolutionOptionSerializer(many=True)

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        option = SolutionOptionSerializer(context=self.context)
        data["options"] = [option.shape_row(o, times) for o in source.options.all()]


class FinalNoteSerializer(_KindTextSerializer):
    kind = serializers.ChoiceField(choices=FinalNote.Kind.choices)
