"""Services and their environments."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend, StableOrderingFilter, UpdatedAfterFilterSet
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
    RowViewSet,
    _merge,
    clashes_as_409,
    crud_schema,
    problems,
    service_by_slug,
)
from deployments.models import (
    Environment,
    Service,
)

# --- Services -------------------------------------------------------------------------------------


@crud_schema(
    noun="service",
    read=ServiceSerializer,
    create=ServiceWriteSerializer,
    update=ServiceWriteSerializer,
    ordering="Ordered by name unless `ordering` says otherwise. Each carries the status of its "
    "latest health snapshot.",
    retrieve_summary="A service, by slug",
    create_summary="Add a service (admins)",
    create_problems=CONFLICT_PROBLEMS,
)
class ServiceViewSet(RowViewSet):
    model = Service
    row_serializer = ServiceSerializer
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]{1,100}"
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = UpdatedAfterFilterSet
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


@crud_schema(
    noun="environment",
    read=EnvironmentSerializer,
    create=EnvironmentCreateSerializer,
    update=EnvironmentUpdateSerializer,
    ordering="Ordered by service name, then environment name.",
    create_summary="Add an environment to a service (admins)",
    create_problems=CREATE_PROBLEMS,
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
        good.rollback_command = selectors.rollback_command(deployment=good)  # type: ignore[attr-defined]  # for the serializer
        return Response(LastKnownGoodSerializer(good).data)
