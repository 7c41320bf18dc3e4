"""Run now: probe one health check at once and answer the stored result.

The result is stored in a snapshot of kind manual holding only this check; its status is the
service's with this fresh answer in place, and it never records a health change (see
deployments.services.probes).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api.permissions import RolePermission
from deployments.models import HealthCheck, HealthStatus
from deployments.services.probes import health_check_run


class CheckRunSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The result's id.")
    snapshot = serializers.IntegerField(source="snapshot_id", help_text="The snapshot's id.")
    health_check = serializers.IntegerField(source="health_check_id", help_text="The check's id.")
    name = serializers.CharField(source="health_check.name", help_text="The check's name.")
    taken_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text="Why it failed; empty when ok.")
    maintenance = serializers.BooleanField(
        help_text="A failure inside a maintenance window: not counted against uptime."
    )
    service_status = serializers.ChoiceField(
        source="snapshot.status",
        choices=HealthStatus.choices,
        help_text="The service's overall status with this answer in place of the check's last.",
    )


SNAPSHOT_LOCATION = OpenApiParameter(
    "Location",
    type=OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    response=[201],
    description="The snapshot that holds the result.",
)


class RunPermission(RolePermission):
    """Probing is changing what is known about a check: the change permission, held by admins."""

    perms_map = {**RolePermission.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class HealthCheckRunView(APIView):
    permission_classes = [RunPermission]
    queryset = HealthCheck.objects.all()  # RolePermission reads the model from it

    @extend_schema(
        operation_id="v1_health_checks_run",
        summary="Probe a health check now (admins)",
        description="Probes the check at once, stores the result and answers it. The result is "
        "kept in a snapshot of its own that holds only this check; it never counts as a change "
        "of the service's health. A target that fails (refused, timeout, TLS error, wrong "
        "status) is still a 201: `ok` is false and `error` says why.",
        request=None,
        responses={
            201: OpenApiResponse(CheckRunSerializer, description="Probed and stored."),
        },
        parameters=[SNAPSHOT_LOCATION],
    )
    def post(self, request: Request, pk: str) -> Response:
        check = HealthCheck.objects.select_related("service").filter(pk=pk).first()
        if check is None:
            raise NotFound()
        result = health_check_run(health_check=check)
        url = reverse("health-snapshot-detail", args=[result.snapshot_id], request=request)
        return Response(
            CheckRunSerializer(result).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": url},
        )
