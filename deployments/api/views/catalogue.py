"""Services and their environments."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend, StableOrderingFilter
from api.problems import Problem
from deployments import selectors, services
from deployments.api import filters
from deployments.api.serializers import (
    EnvironmentCreateSerializer,
    EnvironmentSerializer,
    EnvironmentUpdateSerializer,
    ServiceSerializer,
    ServiceWriteSerializer,
)
from deployments.api.serializers.correlation import (
    LastKnownGoodQuerySerializer,
    LastKnownGoodSerializer,
)
from deployments.api.views.common import (
    CONFLICT_PROBLEMS,
    CREATE_PROBLEMS,
    ID_REGEX,
    LOCATION_HEADER,
    RowViewSet,
    _merge,
    clashes_as_409,
    problems,
    service_by_slug,
)
from deployments.models import (
    Environment,
    Service,
)

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
    filter_backends = [QueryFilterBackend]
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

    @extend_schema(
        operation_id="environment_last_known_good",
        summary="Where to roll back to: the environment's last known good deployment",
        description="The latest succeeded deployment whose smoke run passed and that stayed "
        "healthy for HINDSIGHT_LAST_KNOWN_GOOD_MINUTES after it finished (proven by at least "
        "one healthy scheduled snapshot and no failing one), as of now or `before`, with the "
        "environment's rollback command filled in. The same answer as the environment page.",
        parameters=[LastKnownGoodQuerySerializer],
        responses=_merge(
            {200: LastKnownGoodSerializer},
            problems(
                _404="No environment has this id, or none of its deployments is known good "
                "yet (type `no-known-good`)."
            ),
        ),
    )
    @action(detail=True, methods=["get"], url_path="last-known-good")
    def last_known_good(self, request: Request, pk: str) -> Response:
        environment = get_object_or_404(Environment.objects.select_related("service"), pk=pk)
        query = LastKnownGoodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        before = query.validated_data.get("before")
        good = selectors.last_known_good(environment=environment, before=before)
        if good is None:
            raise Problem(
                f"No deployment of {environment.service.slug} {environment.name} is known good"
                + (f" as of {before.isoformat()}." if before else " yet."),
                status_code=404,
                problem_type="no-known-good",
            )
        good.rollback_command = selectors.rollback_command(deployment=good)
        return Response(LastKnownGoodSerializer(good).data)
