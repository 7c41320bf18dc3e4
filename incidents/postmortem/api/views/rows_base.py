"""What every viewset of an incident's rows shares: full CRUD on the rows nested under the
incident in the URL, with ETags and conditional requests, and moving rows kept in a hand-made
order.

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

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.filters import QueryFilterBackend, UpdatedAfterFilterSet
from api.pagination import PagePagination
from api.permissions import request_user
from api.problems import Problem
from api.reads import RowSerializer
from incidents.models import Incident, TimelineEvent
from incidents.models.base import MarkdownModel, Ordered, Versioned
from incidents.postmortem import services
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.views.common import (
    ChangeOnPost,
    acting,
    etag,
    id_or_404,
    if_match_version,
    incident_or_404,
)

AUDIT_LINE = (
    "Hindsight wrote this timeline line as the record of what happened (a status change, a "
    "deployment, a health change, a message sent): it cannot be changed or deleted. Hide it "
    "from the published post-mortem with POST .../hide instead."
)


class MoveSerializer(s.StrictSerializer):
    offset = s.StrictIntegerField(
        min_value=-1000,
        max_value=1000,
        help_text="Places to move among its siblings: -1 is one up, 1 one down. Moving past "
        "either end stops there.",
    )


# The model of a viewset's rows.
_Row = TypeVar("_Row", bound=MarkdownModel)


class IncidentRowViewSet(viewsets.GenericViewSet, Generic[_Row]):
    """Full CRUD on one kind of row of the incident in the URL, written through part_save and
    part_delete. Subclasses name the model and the two serializers."""

    model: type[_Row]
    read_serializer: type[RowSerializer]
    write_serializer: type[s.IncidentRowSerializer]
    related: tuple[str, ...] = ()
    list_ordering: tuple[str, ...] = ("order", "id")

    lookup_value_regex = "[0-9]{1,18}"
    filter_backends = [QueryFilterBackend]
    filterset_class = UpdatedAfterFilterSet
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
        page = self.paginate_queryset(
            self.filter_queryset(self.rows().order_by(*self.list_ordering))
        )
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
