"""The deployments REST face: services, environments, deployments, health checks and snapshots.

Reads select `.values()` rows and shape them with the RowSerializers; writes validate with a
strict serializer and call deployments.services. Who may do what is RolePermission's: the
queryset's model permissions, so every role reads and only admins write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_RE
from api.pagination import TimeCursorPagination
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from deployments import selectors, services
from deployments.api import filters
from deployments.api.serializers import (
    EARLIEST,
    CheckResultSerializer,
    DeploymentDetailSerializer,
    DeploymentRecordSerializer,
    DeploymentSerializer,
    DeploymentStatusSerializer,
    EnvironmentCreateSerializer,
    EnvironmentSerializer,
    EnvironmentUpdateSerializer,
    HealthCheckCreateSerializer,
    HealthCheckSerializer,
    HealthCheckUpdateSerializer,
    HealthSnapshotSerializer,
    RowSerializer,
    ServiceSerializer,
    ServiceWriteSerializer,
)
from deployments.models import (
    Artifact,
    CheckResult,
    Deployment,
    Environment,
    HealthCheck,
    HealthSnapshot,
    Service,
)

ID_REGEX = "[0-9]{1,18}"  # fits a bigint; longer is a 404 at the URL, not an overflow

# --- Schema helpers -------------------------------------------------------------------------------
# api.schema adds the problem answers every operation can give (400, 401, 403, 404, ...); these
# are the ones particular to an operation, or described more precisely for it.

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems(**descriptions: str) -> dict[Any, OpenApiResponse]:
    """Problem+json responses for the schema, as problems(_409="Why.")."""
    return {
        (int(code.lstrip("_")), PROBLEM_CONTENT_TYPE): OpenApiResponse(
            PROBLEM_REF, description=description
        )
        for code, description in descriptions.items()
    }


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    pattern=KEY_RE.pattern,
    description="Makes the POST safe to retry: a retry with the same key and body (within "
    "24 hours) replays the first answer byte for byte and creates nothing. The same key with "
    "another body answers 422; while the first request still runs, 409.",
)
IDEMPOTENCY_PROBLEMS = problems(
    _400="Invalid input (`errors` says what, by field), or a malformed Idempotency-Key.",
    _409="The first request with this Idempotency-Key is still running.",
    _422="This Idempotency-Key was used with a different request.",
)
LOCATION_HEADER = OpenApiParameter(
    "Location",
    type=OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    response=[201],
    description="The new object's URL.",
)


def _merge(*parts: Mapping[Any, Any]) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


CONFLICT_PROBLEMS = problems(
    _409="Another row already has this name or slug (type `already-exists`; `errors` says "
    "which field)."
)
CREATE_PROBLEMS = _merge(
    CONFLICT_PROBLEMS, problems(_404="No service has this slug (type `unknown-service`).")
)


# --- Base -----------------------------------------------------------------------------------------


@contextmanager
def clashes_as_409() -> Iterator[None]:
    """A write that would duplicate a unique name is a conflict with what exists, not a typo."""
    try:
        yield
    except services.AlreadyExists as exc:
        raise Problem(
            "Another row already has this; see `errors`.",
            status_code=409,
            problem_type="already-exists",
            errors=exc.message_dict,
        ) from exc


def service_by_slug(slug: str) -> Service:
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise Problem(
            f"No service has the slug {slug!r}.", status_code=404, problem_type="unknown-service"
        )
    return service


def environment_named(service: Service, name: str | None) -> Environment | None:
    """The service's environment of this name, for a field that refers to it."""
    if name is None:
        return None
    environment = Environment.objects.filter(service=service, name=name).first()
    if environment is None:
        raise ValidationError({"environment": [f"{service.slug} has no environment {name!r}."]})
    return environment


class StableOrderingFilter(OrderingFilter):
    """Any ordering ends with the id, so pages never shuffle rows that tie."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not {"id", "-id"} & set(ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering


class RowViewSet(viewsets.GenericViewSet):
    """Reads `.values()` rows shaped by `row_serializer`; subclasses write through services."""

    model: type[Model]
    row_serializer: type[RowSerializer]
    base_ordering: tuple[str, ...]

    def get_queryset(self) -> QuerySet:
        return self.model.objects.order_by(*self.base_ordering).values(
            *self.row_serializer.values()
        )

    def get_serializer_class(self):
        return self.row_serializer

    def shape(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        serializer = self.row_serializer()
        return [serializer.to_representation(row) for row in rows]

    def row(self, **lookup: Any) -> dict[str, Any]:
        row = self.get_queryset().filter(**lookup).first()
        if row is None:
            raise NotFound()
        return self.row_serializer().to_representation(row)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.shape(page))

    def created(self, data: dict[str, Any], *, name: str, key: Any) -> Response:
        url = reverse(f"{name}-detail", args=[key], request=self.request)
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": url})

    def validated(self, serializer_class, *, partial: bool = False) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.request.data, partial=partial, context={"request": self.request}
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# --- Services -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List services",
        description="Ordered by name unless `ordering` says otherwise. Each carries the status "
        "of its latest health snapshot.",
        responses={200: ServiceSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A service, by slug",
        responses={200: ServiceSerializer},
    ),
    create=extend_schema(
        summary="Add a service (admins)",
        request=ServiceWriteSerializer,
        responses=_merge({201: ServiceSerializer}, CONFLICT_PROBLEMS),
        parameters=[LOCATION_HEADER],
    ),
    update=extend_schema(
        summary="Replace a service's fields (admins)",
        request=ServiceWriteSerializer,
        responses=_merge({200: ServiceSerializer}, CONFLICT_PROBLEMS),
    ),
    partial_update=extend_schema(
        summary="Change some of a service's fields (admins)",
        request=ServiceWriteSerializer,
        responses=_merge({200: ServiceSerializer}, CONFLICT_PROBLEMS),
    ),
)
class ServiceViewSet(RowViewSet):
    model = Service
    row_serializer = ServiceSerializer
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]{1,100}"
    filter_backends = [StableOrderingFilter]
    ordering_fields = ["name", "slug", "created_at"]
    ordering = ["name", "id"]

    def get_queryset(self) -> QuerySet:
        return selectors.service_health().order_by("name", "id").values(*ServiceSerializer.values())

    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(self.row(slug=slug))

    def create(self, request: Request) -> Response:
        data = self.validated(ServiceWriteSerializer)
        with clashes_as_409():
            service = services.service_create(**data)
        return self.created(self.row(pk=service.pk), name="service", key=service.slug)

    def update(self, request: Request, slug: str, partial: bool = False) -> Response:
        service = get_object_or_404(Service, slug=slug)
        changes = self.validated(ServiceWriteSerializer, partial=partial)
        with clashes_as_409():
            service = services.service_update(service=service, **changes)
        return Response(self.row(pk=service.pk))

    def partial_update(self, request: Request, slug: str) -> Response:
        return self.update(request, slug, partial=True)


# --- Environments ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List environments",
        description="Ordered by service name, then environment name.",
        responses={200: EnvironmentSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="An environment", responses={200: EnvironmentSerializer}),
    create=extend_schema(
        summary="Add an environment to a service (admins)",
        request=EnvironmentCreateSerializer,
        responses=_merge({201: EnvironmentSerializer}, CREATE_PROBLEMS),
        parameters=[LOCATION_HEADER],
    ),
    update=extend_schema(
        summary="Replace an environment's fields (admins)",
        request=EnvironmentUpdateSerializer,
        responses=_merge({200: EnvironmentSerializer}, CONFLICT_PROBLEMS),
    ),
    partial_update=extend_schema(
        summary="Change some of an environment's fields (admins)",
        request=EnvironmentUpdateSerializer,
        responses=_merge({200: EnvironmentSerializer}, CONFLICT_PROBLEMS),
    ),
)
class EnvironmentViewSet(RowViewSet):
    model = Environment
    row_serializer = EnvironmentSerializer
    base_ordering = ("service__name", "service_id", "name")
    lookup_value_regex = ID_REGEX
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.EnvironmentFilter

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.row(pk=pk))

    def create(self, request: Request) -> Response:
        data = self.validated(EnvironmentCreateSerializer)
        data["service"] = service_by_slug(data["service"])
        with clashes_as_409():
            environment = services.environment_create(**data)
        return self.created(self.row(pk=environment.pk), name="environment", key=environment.pk)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        environment = get_object_or_404(Environment, pk=pk)
        changes = self.validated(EnvironmentUpdateSerializer, partial=partial)
        with clashes_as_409():
            services.environment_update(environment=environment, **changes)
        return Response(self.row(pk=environment.pk))

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)


# --- Deployments ----------------------------------------------------------------------------------

DEPLOYMENT_STATUS_PROBLEMS = problems(
    _409="The deployment's status cannot move there (`allowed` lists where it can), or the "
    "first request with this Idempotency-Key is still running.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List deployments",
        description="Newest first (`-started_at`, then `-id`) unless `ordering` says otherwise.",
        responses={200: DeploymentSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A deployment, with its manifest",
        responses={200: DeploymentDetailSerializer},
    ),
    create=extend_schema(
        summary="Record a deployment (admins)",
        description="Records a deployment and its manifest. The external id is the provider's: "
        "recording one the environment already has answers that deployment with 200 and "
        "creates nothing; a new one answers 201. An unknown service or environment is a 404.",
        request=DeploymentRecordSerializer,
        responses=_merge(
            {
                201: OpenApiResponse(DeploymentDetailSerializer, description="Recorded."),
                200: OpenApiResponse(
                    DeploymentDetailSerializer,
                    description="Already recorded under this external id: the first one.",
                ),
            },
            IDEMPOTENCY_PROBLEMS,
            problems(
                _404="The service has no environment of this name (type `unknown-environment`).",
                _413="The manifest lists more than 10,000 files (type `manifest-too-large`).",
            ),
        ),
        parameters=[IDEMPOTENCY_PARAMETER, LOCATION_HEADER],
    ),
    set_status=extend_schema(
        summary="Move a deployment to another status (admins)",
        description="pending → in_progress, succeeded or failed; in_progress → succeeded or "
        "failed; succeeded or failed → rolled_back. Asking for the status it has changes "
        "nothing.",
        request=DeploymentStatusSerializer,
        responses=_merge(
            {200: DeploymentDetailSerializer},
            IDEMPOTENCY_PROBLEMS,
            DEPLOYMENT_STATUS_PROBLEMS,
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
    ),
)
class DeploymentViewSet(RowViewSet):
    model = Deployment
    row_serializer = DeploymentSerializer
    base_ordering = ("-started_at", "-id")
    lookup_value_regex = ID_REGEX
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = filters.DeploymentFilter
    ordering_fields = ["started_at", "finished_at", "created_at", "id"]
    ordering = ["-started_at", "-id"]
    # CI retries its POSTs; api.idempotency replays the first answer to a retry.
    idempotent_post = True

    def detail_body(self, pk: Any) -> dict[str, Any]:
        data = self.row(pk=pk)
        data["artifacts"] = list(
            Artifact.objects.filter(deployment_id=pk)
            .order_by("path")
            .values("path", "size", "sha256")
        )
        return data

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.detail_body(pk))

    def create(self, request: Request) -> Response:
        data = self.validated(DeploymentRecordSerializer)
        environment = (
            Environment.objects.filter(service__slug=data["service"], name=data["environment"])
            .only("id", "service_id")
            .first()
        )
        if environment is None:
            raise Problem(
                f"Service {data['service']!r} has no environment {data['environment']!r}.",
                status_code=404,
                problem_type="unknown-environment",
            )
        deployment, created = services.deployment_record(
            environment=environment,
            external_id=data["external_id"],
            commit_sha=data["commit_sha"],
            branch=data["branch"],
            status=data["status"],
            deployed_by=data["deployed_by"],
            manifest=data["manifest"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            rollback_of_external_id=data["rollback_of"],
        )
        body = self.detail_body(deployment.pk)
        if created:
            return self.created(body, name="deployment", key=deployment.pk)
        return Response(body, status=status.HTTP_200_OK)

    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str) -> Response:
        deployment = get_object_or_404(Deployment.objects.only("id"), pk=pk)
        data = self.validated(DeploymentStatusSerializer)
        try:
            services.deployment_set_status(deployment=deployment, **data)
        except services.TransitionNotAllowed as exc:
            raise Problem(
                str(exc),
                status_code=409,
                problem_type="status-transition-not-allowed",
                current=exc.current,
                requested=exc.requested,
                allowed=exc.allowed,
            ) from exc
        return Response(self.detail_body(deployment.pk))


# --- Health checks --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List health checks",
        description="Ordered by service name, then each check's `order`, then name.",
        responses={200: HealthCheckSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="A health check", responses={200: HealthCheckSerializer}),
    create=extend_schema(
        summary="Add a health check (admins)",
        request=HealthCheckCreateSerializer,
        responses=_merge({201: HealthCheckSerializer}, CREATE_PROBLEMS),
        parameters=[LOCATION_HEADER],
    ),
    update=extend_schema(
        summary="Replace a health check's fields (admins)",
        request=HealthCheckUpdateSerializer,
        responses=_merge({200: HealthCheckSerializer}, CONFLICT_PROBLEMS),
    ),
    partial_update=extend_schema(
        summary="Change some of a health check's fields (admins)",
        request=HealthCheckUpdateSerializer,
        responses=_merge({200: HealthCheckSerializer}, CONFLICT_PROBLEMS),
    ),
    destroy=extend_schema(
        summary="Delete a health check and its results (admins)",
        responses={204: None},
    ),
)
class HealthCheckViewSet(RowViewSet):
    model = HealthCheck
    row_serializer = HealthCheckSerializer
    base_ordering = ("service__name", "service_id", "order", "name")
    lookup_value_regex = ID_REGEX
    filter_backends = [DjangoFilterBackend]
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

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # The position goes into a taken_at filter: a forged one must be a 404 like any other
        # bad cursor, not a database error.
        if cursor is not None and cursor.position is not None:
            try:
                moment = parse_datetime(cursor.position)
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
    filter_backends = [DjangoFilterBackend]  # no ordering parameter: the cursor owns the order
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
        return self.get_paginated_response(self.shape(self.with_results(list(page))))

    def retrieve(self, request: Request, pk: str) -> Response:
        row = self.get_queryset().filter(pk=pk).first()
        if row is None:
            raise NotFound()
        return Response(self.shape(self.with_results([row]))[0])
