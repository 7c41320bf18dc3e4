"""Response shapes of an incident's section rows."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from incidents.api.serializers.read import FastReadSerializer, _day, _Times, _username
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Horizon,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)


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
