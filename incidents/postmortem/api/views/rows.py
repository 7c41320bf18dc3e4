"""The rows of an incident's sections, nested under it, with full CRUD.

Each row has its own version, answered as a strong ETag ("3") and as `version` in its body.
PUT, PATCH and DELETE must send it back in If-Match, as for the incident: without it 428, a
malformed one 400, a stale one 412 with `current_version` (the row changed since it was read:
edited, ticked, moved or hidden). One-click transitions (move, an action item's complete and
reopen, hiding a timeline line) need no If-Match: they overwrite nobody's text. Timeline lines
Hindsight wrote itself (status changes, deployments, health, messages sent) are its record and
are never changed or deleted: 409 (audit-line); they can be hidden from the published
post-mortem instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.pagination import PagePagination
from api.permissions import request_user
from api.problems import Problem
from api.reads import RowSerializer
from incidents.models import (
    ActionItem,
    Cause,
    Incident,
    Lesson,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel, Ordered, Versioned
from incidents.postmortem import services
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.views.common import (
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_PROBLEMS,
    INCIDENT_REF,
    LIST_PROBLEMS,
    LOCATION,
    READ_PROBLEMS,
    ROW_BAD_IF_MATCH,
    ROW_ETAG,
    ROW_IF_MATCH,
    ROW_NO_IF_MATCH,
    ROW_STALE,
    WRITE_PROBLEMS,
    ChangeOnPost,
    TimelineCursorPagination,
    acting,
    etag,
    id_or_404,
    if_match_version,
    incident_or_404,
    problems,
)

AUDIT_LINE = (
    "Hindsight wrote this timeline line as the record of what happened (a status change, a "
    "deployment, a health change, a message sent): it cannot be changed or deleted. Hide it "
    "from the published post-mortem with POST .../hide instead."
)

# --- Rows of an incident's sections ------------------------------------------------------------


class MoveSerializer(s.StrictSerializer):
    offset = s.StrictIntegerField(
        min_value=-1000,
        max_value=1000,
        help_text="Places to move among its siblings: -1 is one up, 1 one down. Moving past "
        "either end stops there.",
    )


_ViewSet = TypeVar("_ViewSet", bound=type[viewsets.GenericViewSet])
# The model of a viewset's rows.
_Row = TypeVar("_Row", bound=MarkdownModel)


def _row_schema(
    *,
    plural: str,
    read: type[RowSerializer],
    write: type[s.IncidentRowSerializer],
    idempotent: bool = False,
    ordering: str = "by hand order (`order`, then `id`)",
    movable: bool = True,
    audited: bool = False,
) -> Callable[[_ViewSet], _ViewSet]:
    create_params = [INCIDENT_REF, LOCATION, ROW_ETAG] + ([IDEMPOTENCY_KEY] if idempotent else [])
    create_problems = WRITE_PROBLEMS + (IDEMPOTENCY_PROBLEMS if idempotent else ())
    guarded = [INCIDENT_REF, ROW_IF_MATCH, ROW_ETAG]
    # 412 and 428 for If-Match; 409 for a line Hindsight wrote, where there are such lines.
    guard_problems = {
        "d400": ROW_BAD_IF_MATCH,
        "d412": ROW_STALE,
        "d428": ROW_NO_IF_MATCH,
        **({"d409": AUDIT_LINE} if audited else {}),
    }
    guard_codes = (412, 428, *((409,) if audited else ()))
    return extend_schema_view(
        list=extend_schema(
            summary=f"List an incident's {plural}",
            description=f"Ordered {ordering}.",
            parameters=[INCIDENT_REF],
            responses={200: read(many=True), **problems(*LIST_PROBLEMS)},
        ),
        retrieve=extend_schema(
            parameters=[INCIDENT_REF, ROW_ETAG], responses={200: read, **problems(*READ_PROBLEMS)}
        ),
        create=extend_schema(
            request=write,
            parameters=create_params,
            responses={201: read, **problems(*create_problems)},
        ),
        update=extend_schema(
            description="Omitted optional fields return to their defaults. Needs If-Match.",
            request=write,
            parameters=guarded,
            responses={200: read, **problems(*WRITE_PROBLEMS, *guard_codes, **guard_problems)},
        ),
        partial_update=extend_schema(
            description="Only the fields sent change. Needs If-Match.",
            request=write,
            parameters=guarded,
            responses={200: read, **problems(*WRITE_PROBLEMS, *guard_codes, **guard_problems)},
        ),
        destroy=extend_schema(
            description="Needs If-Match.",
            parameters=[INCIDENT_REF, ROW_IF_MATCH],
            responses={
                204: OpenApiResponse(description="Deleted."),
                **problems(*READ_PROBLEMS, 400, *guard_codes, **guard_problems),
            },
        ),
        **(
            {
                "move": extend_schema(
                    summary=f"Move one of the {plural} among its siblings",
                    description=(
                        "Renumbers the siblings (same parent and group) 0..n-1, bumping the "
                        "version of each it renumbers. One click: no If-Match."
                    ),
                    request=MoveSerializer,
                    parameters=[INCIDENT_REF, ROW_ETAG],
                    responses={200: read, **problems(*WRITE_PROBLEMS)},
                )
            }
            if movable
            else {}
        ),
    )


class IncidentRowViewSet(viewsets.GenericViewSet, Generic[_Row]):
    """Full CRUD on one kind of row of the incident in the URL, written through part_save and
    part_delete. Subclasses name the model and the two serializers."""

    model: type[_Row]
    read_serializer: type[RowSerializer]
    write_serializer: type[s.IncidentRowSerializer]
    related: tuple[str, ...] = ()
    list_ordering: tuple[str, ...] = ("order", "id")

    lookup_value_regex = "[0-9]{1,18}"
    filter_backends: list = []
    pagination_class: type[BasePagination] | None = PagePagination

    def get_queryset(self) -> QuerySet[_Row]:
        # Unscoped and lazy: the role check reads the model from it. rows() is the real one.
        return self.model._default_manager.all()

    def get_serializer_class(self) -> type[BaseSerializer]:
        if acting(self) in ("create", "update", "partial_update"):
            return self.write_serializer
        return self.read_serializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "incident": self.incident}

    @property
    def incident(self) -> Incident:
        if not hasattr(self, "_incident"):
            self._incident = incident_or_404(
                self.kwargs["incident_ref"], Incident.objects.select_related("service")
            )
        return self._incident

    def rows(self) -> QuerySet[_Row]:
        return self.model._default_manager.filter(incident=self.incident).select_related(
            *self.related
        )

    def get_object(self) -> _Row:
        return self.row(self.kwargs["pk"])

    def row(self, pk: Any) -> _Row:
        row = self.rows().filter(pk=id_or_404(pk)).first()
        if row is None:
            raise NotFound("This incident has no such row.")
        return row

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, Problem) and exc.extra.get("current_version") is not None:
            response["ETag"] = etag(exc.extra["current_version"])
        return response

    def _read(self, row: _Row, *, status: int = 200) -> Response:
        data = self.read_serializer(row, context=self.get_serializer_context()).data
        response = Response(data, status=status)
        assert isinstance(row, Versioned)  # every section's model is
        response["ETag"] = etag(row.version)
        return response

    def expected_version(self, request: Request, row: _Row) -> int:
        """The row's version the client read, from If-Match, after refusing what nobody may
        change whatever they read."""
        if isinstance(row, TimelineEvent) and row.is_audit:
            raise Problem(AUDIT_LINE, status_code=409, problem_type="audit-line")
        return if_match_version(request, "row")

    @contextmanager
    def guarded(self) -> Iterator[None]:
        """The service's refusals as problems: a stale version 412, a line Hindsight wrote 409."""
        try:
            yield
        except services.StaleRow as stale:
            if stale.current_version is None:
                raise NotFound("This incident has no such row.") from None
            raise Problem(
                "The row changed since you read it; read it again and reapply your change.",
                status_code=412,
                problem_type="precondition-failed",
                current_version=stale.current_version,
            ) from None
        except services.AuditLineLocked:
            raise Problem(AUDIT_LINE, status_code=409, problem_type="audit-line") from None

    def list(self, request: Request, incident_ref: str) -> Response:
        page = self.paginate_queryset(self.rows().order_by(*self.list_ordering))
        assert page is not None  # pagination_class is set
        data = self.read_serializer.shape(page, self.get_serializer_context())
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._read(self.get_object())

    def create(self, request: Request, incident_ref: str) -> Response:
        serializer = self.write_serializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        row = self.add_row(dict(serializer.validated_data), request_user(request))
        response = self._read(self.row(row.pk), status=201)
        response["Location"] = request.build_absolute_uri(
            reverse(
                f"{self.basename}-detail",
                kwargs={"incident_ref": self.incident.reference, "pk": row.pk},
            )
        )
        return response

    def update(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        row = self.get_object()
        expected = self.expected_version(request, row)
        serializer = self.write_serializer(
            row, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with self.guarded():
            if expected > s.MAX_ID:  # no version can match it: stale by definition
                assert isinstance(row, Versioned)  # every section's model is
                raise services.StaleRow(current_version=row.version)
            self.change_row(row, dict(serializer.validated_data), request_user(request), expected)
        return self._read(self.get_object())

    def destroy(self, request: Request, incident_ref: str, pk: str) -> Response:
        row = self.get_object()
        expected = self.expected_version(request, row)
        with self.guarded():
            services.part_delete(row=row, user=request_user(request), expected_version=expected)
        return Response(status=204)

    def add_row(self, values: dict[str, Any], user: User) -> _Row:
        return services.part_save(row=self.model(incident=self.incident, **values), user=user)

    def change_row(self, row: _Row, values: dict[str, Any], user: User, expected: int) -> None:
        for name, value in values.items():
            setattr(row, name, value)
        # Without a base: the API cannot say what the client started from field by field, so a
        # stale If-Match is refused whatever changed (as for the incident).
        services.part_save(row=row, user=user, fields=values, expected_version=expected)


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


class OrderedRowViewSet(IncidentRowViewSet[_Row]):
    """Rows kept in a hand-made order (causes, lessons, action items, criteria) can be moved."""

    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def move(self, request: Request, incident_ref: str, pk: str) -> Response:
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = self.get_object()
        assert isinstance(row, Ordered)  # every model of these viewsets is
        services.part_move(
            row=row, offset=serializer.validated_data["offset"], user=request_user(request)
        )
        return self._read(self.get_object())


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
