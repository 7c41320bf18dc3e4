"""The viewsets of an incident's rows, one per section (timeline events, causes, lessons,
action items, success criteria), each naming its model, its serializers and what differs:
the timeline's order, pagination and hiding, a criterion's `done`. What they share is in
rows_base.py (CRUD, ETags, If-Match) and rows_schema.py (their OpenAPI description)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import request_user
from incidents.models import ActionItem, Cause, Lesson, SuccessCriterion, TimelineEvent
from incidents.postmortem import services
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.views.common import (
    INCIDENT_REF,
    READ_PROBLEMS,
    ROW_ETAG,
    ChangeOnPost,
    TimelineCursorPagination,
    problems,
)
from incidents.postmortem.api.views.rows_base import IncidentRowViewSet, OrderedRowViewSet
from incidents.postmortem.api.views.rows_schema import _row_schema


@_row_schema(
    plural="timeline events",
    read=s.TimelineEventSerializer,
    write=s.TimelineEventWriteSerializer,
    idempotent=True,
    ordering="by `occurred_at`, then `id`, oldest first, cursor-paginated",
    movable=False,
    audited=True,
)
class TimelineEventViewSet(IncidentRowViewSet[TimelineEvent]):
    model = TimelineEvent
    read_serializer = s.TimelineEventSerializer
    write_serializer = s.TimelineEventWriteSerializer
    related = ("created_by",)
    list_ordering = ("occurred_at", "id")
    pagination_class = TimelineCursorPagination
    idempotent_post = True  # api.idempotency: Idempotency-Key on POST

    def add_row(self, values: dict[str, Any], user: User) -> TimelineEvent:
        return services.timeline_event_add(incident=self.incident, created_by=user, **values)

    def _set_hidden(self, request: Request, *, hidden: bool) -> Response:
        services.timeline_event_set_hidden(
            event=self.get_object(), hidden=hidden, user=request_user(request)
        )
        return self._read(self.get_object())

    @extend_schema(
        summary="Hide a timeline line from the published post-mortem",
        description=(
            "For the lines Hindsight wrote itself, which nobody may change or delete: the line "
            "stays on record (here, with `hidden`, and in the history) and is left out of the "
            "exports and the printed page. One click: no If-Match; hiding a hidden line "
            "changes nothing."
        ),
        request=None,
        parameters=[INCIDENT_REF, ROW_ETAG],
        responses={200: s.TimelineEventSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def hide(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._set_hidden(request, hidden=True)

    @extend_schema(
        summary="Show a hidden timeline line in the published post-mortem again",
        description="One click: no If-Match; showing a shown line changes nothing.",
        request=None,
        parameters=[INCIDENT_REF, ROW_ETAG],
        responses={200: s.TimelineEventSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def show(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._set_hidden(request, hidden=False)


@_row_schema(plural="causes", read=s.CauseSerializer, write=s.CauseWriteSerializer)
class CauseViewSet(OrderedRowViewSet[Cause]):
    model = Cause
    read_serializer = s.CauseSerializer
    write_serializer = s.CauseWriteSerializer


@_row_schema(plural="lessons", read=s.LessonSerializer, write=s.LessonWriteSerializer)
class LessonViewSet(OrderedRowViewSet[Lesson]):
    model = Lesson
    read_serializer = s.LessonSerializer
    write_serializer = s.LessonWriteSerializer


@_row_schema(
    plural="action items",
    read=s.ActionItemSerializer,
    write=s.ActionItemWriteSerializer,
    idempotent=True,
)
class IncidentActionItemViewSet(OrderedRowViewSet[ActionItem]):
    model = ActionItem
    read_serializer = s.ActionItemSerializer
    write_serializer = s.ActionItemWriteSerializer
    related = ("owner",)
    idempotent_post = True  # api.idempotency: Idempotency-Key on POST


@_row_schema(
    plural="success criteria",
    read=s.SuccessCriterionSerializer,
    write=s.SuccessCriterionWriteSerializer,
)
class SuccessCriterionViewSet(OrderedRowViewSet[SuccessCriterion]):
    model = SuccessCriterion
    read_serializer = s.SuccessCriterionSerializer
    write_serializer = s.SuccessCriterionWriteSerializer

    # `done` goes through criterion_set_done, which stamps done_at; one transaction for both.

    @transaction.atomic
    def add_row(self, values: dict[str, Any], user: User) -> SuccessCriterion:
        done = values.pop("done", False)
        row = super().add_row(values, user)
        if done:
            services.criterion_set_done(criterion=row, done=True, user=user)
        return row

    @transaction.atomic
    def change_row(
        self, row: SuccessCriterion, values: dict[str, Any], user: User, expected: int
    ) -> None:
        done = values.pop("done", None)
        super().change_row(row, values, user, expected)
        if done is not None:
            services.criterion_set_done(criterion=row, done=done, user=user)
