"""Health checks (configured by admins), the snapshots the prober takes, and the hourly roll-ups
retention keeps once the raw results are gone."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend
from api.pagination import TimeCursorPagination
from deployments import services
from deployments.api import filters
from deployments.api.serializers import (
    EARLIEST,
    CheckResultSerializer,
    HealthCheckCreateSerializer,
    HealthCheckSerializer,
    HealthCheckUpdateSerializer,
    HealthHourSerializer,
    HealthSnapshotSerializer,
)
from deployments.api.views.common import (
    CREATE_PROBLEMS,
    ID_REGEX,
    RowViewSet,
    clashes_as_409,
    crud_schema,
    environment_named,
    service_by_slug,
)
from deployments.models import (
    CheckResult,
    CheckResultHourly,
    HealthCheck,
    HealthSnapshot,
)

# --- Health checks --------------------------------------------------------------------------------


@crud_schema(
    noun="health check",
    read=HealthCheckSerializer,
    create=HealthCheckCreateSerializer,
    update=HealthCheckUpdateSerializer,
    ordering="Ordered by service name, then each check's `order`, then name.",
    create_summary="Add a health check (admins)",
    create_problems=CREATE_PROBLEMS,
    destroy_summary="Delete a health check and its results (admins)",
)
class HealthCheckViewSet(RowViewSet):
    model = HealthCheck
    row_serializer = HealthCheckSerializer
    base_ordering = ("service__name", "service_id", "order", "name")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend]
    filterset_class = filters.HealthCheckFilter

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.row(pk=pk))

    def create(self, request: Request) -> Response:
        data = self.validated(HealthCheckCreateSerializer)
        data["service"] = service_by_slug(data["service"])
        data["environment"] = environment_named(data["service"], data["environment"])
        with clashes_as_409():
            check = services.health_check_create(**data)
        return self.created(self.row(pk=check.pk), name="health-check", key=check.pk)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        check = get_object_or_404(HealthCheck.objects.select_related("service"), pk=pk)
        changes = self.validated(HealthCheckUpdateSerializer, partial=partial)
        if "environment" in changes:
            changes["environment"] = environment_named(check.service, changes["environment"])
        with clashes_as_409():
            services.health_check_update(health_check=check, **changes)
        return Response(self.row(pk=check.pk))

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        services.health_check_delete(health_check=get_object_or_404(HealthCheck, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Health snapshots -----------------------------------------------------------------------------


class SnapshotCursorPagination(TimeCursorPagination):
    ordering = ("-taken_at", "-id")

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        # The position goes into a taken_at filter: a forged one must be a 404 like any other
        # bad cursor, not a database error.
        if cursor is not None and cursor.position is not None:
            try:
                moment = parse_datetime(cursor.position)  # type: ignore[arg-type]  # drf-stubs say int; it is the cursor's text
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None or moment < EARLIEST:
                raise NotFound(self.invalid_cursor_message)
        return cursor


@extend_schema_view(
    list=extend_schema(
        summary="List health snapshots, newest first",
        description="Cursor-paginated by `-taken_at`, then `-id`: pages stay stable however "
        "many snapshots arrive meanwhile. Each snapshot carries its results.",
        responses={200: HealthSnapshotSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A health snapshot with its results",
        responses={200: HealthSnapshotSerializer},
    ),
)
class HealthSnapshotViewSet(RowViewSet):
    model = HealthSnapshot
    row_serializer = HealthSnapshotSerializer
    base_ordering = ("-taken_at", "-id")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend]  # no ordering parameter: the cursor owns the order
    filterset_class = filters.HealthSnapshotFilter
    pagination_class = SnapshotCursorPagination

    def with_results(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put each snapshot's results in its row: one query for the whole page."""
        by_snapshot: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if rows:
            shape = CheckResultSerializer().to_representation
            results = (
                CheckResult.objects.filter(snapshot_id__in=[row["id"] for row in rows])
                .order_by("snapshot_id", "health_check_id")
                .values("snapshot_id", *CheckResultSerializer.values())
            )
            for result in results:
                by_snapshot[result["snapshot_id"]].append(shape(result))
        for row in rows:
            row["results"] = by_snapshot[row["id"]]
        return rows

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # pagination_class is set
        return self.get_paginated_response(self.shape(self.with_results(list(page))))

    def retrieve(self, request: Request, pk: str) -> Response:
        row = self.get_queryset().filter(pk=pk).first()
        if row is None:
            raise NotFound()
        return Response(self.shape(self.with_results([row]))[0])


# --- Hourly roll-ups -------------------------------------------------------------------------------


class HourCursorPagination(SnapshotCursorPagination):
    ordering = ("-hour", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="List hourly health roll-ups, newest first",
        description="What retention keeps of each check once its raw results are deleted "
        "(after HINDSIGHT_RESULT_RETENTION_DAYS): per check and hour, the samples, how many "
        "passed, and latency percentiles. Newer hours are still raw results, under "
        "health-snapshots; the two never cover the same hour. Cursor-paginated by `-hour`.",
        responses={200: HealthHourSerializer(many=True)},
    ),
)
class HealthHourViewSet(RowViewSet):
    model = CheckResultHourly
    row_serializer = HealthHourSerializer
    base_ordering = ("-hour", "-id")
    filter_backends = [QueryFilterBackend]  # no ordering parameter: the cursor owns the order
    filterset_class = filters.HealthHourFilter
    pagination_class = HourCursorPagination
