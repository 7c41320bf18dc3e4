"""Changes that are not deployments, and the maintenance windows CI opens around deployments."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend, StableOrderingFilter
from api.models import ApiToken
from api.permissions import request_user
from api.problems import Problem
from deployments import services
from deployments.api import filters
from deployments.api.serializers import (
    ChangeRecordSerializer,
    ChangeSerializer,
    MaintenanceWindowOpenSerializer,
    MaintenanceWindowSerializer,
)
from deployments.api.views.common import (
    ID_REGEX,
    IDEMPOTENCY_PARAMETER,
    IDEMPOTENCY_PROBLEMS,
    LOCATION_HEADER,
    RowViewSet,
    _merge,
    problems,
    service_by_slug,
)
from deployments.models import Change, Environment, MaintenanceWindow, Service

UNKNOWN_PROBLEMS = problems(
    _404="No service has this slug (type `unknown-service`), or the service has no "
    "environment of this name (type `unknown-environment`).",
)


def environment_or_404(service: Service, name: str | None) -> Environment | None:
    """The environment a CI job names, as POST /deployments finds it: unknown is a 404."""
    if name is None:
        return None
    environment = Environment.objects.filter(service=service, name=name).first()
    if environment is None:
        raise Problem(
            f"Service {service.slug!r} has no environment {name!r}.",
            status_code=404,
            problem_type="unknown-environment",
        )
    return environment


def opener(request: Request) -> str:
    """Who asked: the user, and the token's name when a token did."""
    name = request_user(request).get_username()
    if isinstance(request.auth, ApiToken):
        name = f"{name} ({request.auth.name})"
    return name[:200]


# --- Changes --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List changes",
        description="Changes that are not deployments (configuration, feature flags, "
        "infrastructure), newest first (`-at`, then `-id`) unless `ordering` says otherwise. "
        "Numbered pages (`page`, or `page=last`), or keyset pages (`cursor`, empty for the first "
        "page) that cost the same however deep.",
        responses={200: ChangeSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="A change", responses={200: ChangeSerializer}),
    create=extend_schema(
        summary="Record a change (admins)",
        description="Records a change to a service or one of its environments. With an "
        "external id, recording one the service has already answers that change with 200 and "
        "creates nothing; a new one answers 201. The link is stored, shown and never fetched. "
        "Changes are listed with the deployments around an incident, and the last one before "
        "its health turned red is its suspect change.",
        request=ChangeRecordSerializer,
        responses=_merge(
            {
                201: OpenApiResponse(ChangeSerializer, description="Recorded."),
                200: OpenApiResponse(
                    ChangeSerializer,
                    description="Already recorded under this external id: the first one.",
                ),
            },
            IDEMPOTENCY_PROBLEMS,
            UNKNOWN_PROBLEMS,
        ),
        parameters=[IDEMPOTENCY_PARAMETER, LOCATION_HEADER],
    ),
)
class ChangeViewSet(RowViewSet):
    model = Change
    row_serializer = ChangeSerializer
    base_ordering = ("-at", "-id")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = filters.ChangeFilter
    # `hindsight-ci change`, with a deployments token (api.scopes).
    token_scopes = {"create": (ApiToken.Scope.DEPLOYMENTS,)}
    ordering_fields = ["at", "created_at", "id"]
    ordering = ["-at", "-id"]
    keyset_pages = True  # change_at_idx
    # CI retries its POSTs; api.idempotency replays the first answer to a retry.
    idempotent_post = True

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.row(pk=pk))

    def create(self, request: Request) -> Response:
        data = self.validated(ChangeRecordSerializer)
        service = service_by_slug(data.pop("service"))
        data["environment"] = environment_or_404(service, data["environment"])
        change, created = services.change_record(service=service, **data)
        body = self.row(pk=change.pk)
        return self.recorded(body, created=created, name="change", key=change.pk)


# --- Maintenance windows --------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List maintenance windows",
        description="Newest first (`-starts_at`, then `-id`) unless `ordering` says otherwise.",
        responses={200: MaintenanceWindowSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A maintenance window", responses={200: MaintenanceWindowSerializer}
    ),
    create=extend_schema(
        summary="Open a maintenance window (admins)",
        description="Opens a window from now for `minutes` (60 unless given, at most 1440). "
        "While it is open, a check it covers that fails is stored as maintenance: it drafts "
        "no incident and does not count against uptime. It closes when ended or by itself at "
        "`ends_at`. With an external id, opening a window the service has open under that id "
        "answers it with 200 and creates nothing; a new one answers 201.",
        request=MaintenanceWindowOpenSerializer,
        responses=_merge(
            {
                201: OpenApiResponse(MaintenanceWindowSerializer, description="Opened."),
                200: OpenApiResponse(
                    MaintenanceWindowSerializer,
                    description="A window with this external id is open: that one.",
                ),
            },
            IDEMPOTENCY_PROBLEMS,
            UNKNOWN_PROBLEMS,
        ),
        parameters=[IDEMPOTENCY_PARAMETER, LOCATION_HEADER],
    ),
    end=extend_schema(
        summary="End a maintenance window now (admins)",
        description="Closes the window now. A window that has ended already, or run out, is "
        "answered as it is: ending it again changes nothing.",
        request=None,
        responses=_merge({200: MaintenanceWindowSerializer}, IDEMPOTENCY_PROBLEMS),
        parameters=[IDEMPOTENCY_PARAMETER],
    ),
)
class MaintenanceWindowViewSet(RowViewSet):
    model = MaintenanceWindow
    row_serializer = MaintenanceWindowSerializer
    base_ordering = ("-starts_at", "-id")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = filters.MaintenanceWindowFilter
    # `hindsight-ci maintenance start|end`, with a deployments token (api.scopes).
    token_scopes = dict.fromkeys(
        ("list", "retrieve", "create", "end"), (ApiToken.Scope.DEPLOYMENTS,)
    )
    ordering_fields = ["starts_at", "ends_at", "id"]
    ordering = ["-starts_at", "-id"]
    idempotent_post = True

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.row(pk=pk))

    def create(self, request: Request) -> Response:
        data = self.validated(MaintenanceWindowOpenSerializer)
        service = service_by_slug(data.pop("service"))
        data["environment"] = environment_or_404(service, data["environment"])
        window, created = services.maintenance_window_open(
            service=service, opened_by=opener(request), **data
        )
        body = self.row(pk=window.pk)
        return self.recorded(body, created=created, name="maintenance-window", key=window.pk)

    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str) -> Response:
        window = get_object_or_404(MaintenanceWindow.objects.only("id"), pk=pk)
        services.maintenance_window_end(window=window)
        return Response(self.row(pk=window.pk))
