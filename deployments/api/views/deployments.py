"""Deployments: recorded by CI, listed, and moved through their statuses."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend, StableOrderingFilter
from api.models import ApiToken
from api.problems import Problem
from deployments import services
from deployments.api import filters
from deployments.api.serializers import (
    DeploymentDetailSerializer,
    DeploymentRecordSerializer,
    DeploymentSerializer,
    DeploymentStatusSerializer,
)
from deployments.api.views.common import (
    ID_REGEX,
    IDEMPOTENCY_PARAMETER,
    IDEMPOTENCY_PROBLEMS,
    LOCATION_HEADER,
    RowViewSet,
    _merge,
    problems,
)
from deployments.models import (
    Artifact,
    Deployment,
    Environment,
)

# --- Deployments ----------------------------------------------------------------------------------

DEPLOYMENT_STATUS_PROBLEMS = problems(
    _409="The deployment's status cannot move there (`allowed` lists where it can), or the "
    "first request with this Idempotency-Key is still running.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List deployments",
        description="Newest first (`-started_at`, then `-id`) unless `ordering` says otherwise. "
        "Numbered pages (`page`, or `page=last`), or keyset pages (`cursor`, empty for the first "
        "page) that cost the same however deep.",
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
        "failed; succeeded or failed → rolled_back. A finished status (succeeded, failed, "
        "rolled_back) sets `finished_at`: the one given, else now when it has none. Asking "
        "for the status it has changes nothing, except that a given `finished_at` is stored.",
        request=DeploymentStatusSerializer,
        responses=_merge(
            {200: DeploymentDetailSerializer},
            IDEMPOTENCY_PROBLEMS,
            DEPLOYMENT_STATUS_PROBLEMS,
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
    ),
    verify=extend_schema(
        summary="Run a deployment's smoke checks now (admins)",
        description="Probes the enabled health checks watching the deployment's environment, "
        "as the smoke run after a deploy does, and answers the deployment with what they "
        "found in `health` and `health_checked_at`. It probes again when a verdict is stored "
        "already, so CI can wait for a deployment to turn healthy. Without enabled checks for "
        "the environment nothing is probed and `health` stays as it is (`unknown` for a new "
        "deployment). A target that fails is still a 200, with `health` unhealthy.",
        request=None,
        responses=_merge(
            {200: DeploymentDetailSerializer},
            IDEMPOTENCY_PROBLEMS,
            problems(
                _409="The deployment is not succeeded, or a newer one went out in its "
                "environment, so probing says nothing about it (type `not-verifiable`); or the "
                "first request with this Idempotency-Key is still running.",
            ),
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
    ),
)
class DeploymentViewSet(RowViewSet):
    model = Deployment
    row_serializer = DeploymentSerializer
    base_ordering = ("-started_at", "-id")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = filters.DeploymentFilter
    # What hindsight-ci does around a deployment, with a deployments token (api.scopes).
    token_scopes = dict.fromkeys(
        ("list", "retrieve", "create", "set_status", "verify"), (ApiToken.Scope.DEPLOYMENTS,)
    )
    ordering_fields = ["started_at", "finished_at", "created_at", "id"]
    ordering = ["-started_at", "-id"]
    keyset_pages = True  # deployment_started_idx
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
        return self.recorded(body, created=created, name="deployment", key=deployment.pk)

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

    @action(detail=True, methods=["post"], url_path="verify")
    def verify(self, request: Request, pk: str) -> Response:
        deployment = get_object_or_404(Deployment.objects.only("id"), pk=pk)
        try:
            services.deployment_verify(deployment=deployment)
        except services.NotVerifiable as exc:
            raise Problem(str(exc), status_code=409, problem_type="not-verifiable") from exc
        return Response(self.detail_body(deployment.pk))
