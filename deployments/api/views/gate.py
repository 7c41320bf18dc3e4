"""The gate over the API: CI asks before it ships; the record of answers; the rules.

Who may ask: anyone who can view deployments, with a read token too. Asking changes nothing but
the record of the question (a GateRun), and a CI job that only needs to be told yes or no should
not have to hold a token that can write.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import (
    NoEmptyTypedValuesForm,
    QueryFilterBackend,
    StableOrderingFilter,
    StrictBooleanFilter,
    UpdatedAfterFilterSet,
)
from api.models import ApiToken
from api.permissions import RolePermission, request_user
from api.problems import Problem
from deployments import services
from deployments.api.serializers.gate import (
    GateAnswerSerializer,
    GateRequestSerializer,
    GateRuleCreateSerializer,
    GateRuleSerializer,
    GateRuleUpdateSerializer,
    GateRunSerializer,
)
from deployments.api.views.common import (
    ID_REGEX,
    LOCATION_HEADER,
    RowViewSet,
    _merge,
    environment_named,
    problems,
    service_by_slug,
)
from deployments.models import Deployment, Environment, GateRule, GateRun

# --- Asking ---------------------------------------------------------------------------------------


class AskPermission(RolePermission):
    """POST needs only the view permission on deployments: asking is a question, not a write."""

    perms_map = {**RolePermission.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}

    def has_permission(self, request: Request, view: APIView) -> bool:
        # RolePermission's own check would pass a POST to a view without a post handler.
        return permissions.DjangoModelPermissions.has_permission(self, request, view)


class GateView(APIView):
    permission_classes = [AskPermission]
    # A CI job that only asks holds a gate token; a read token may ask too (api.scopes).
    token_scopes = {"post": (ApiToken.Scope.READ, ApiToken.Scope.GATE, ApiToken.Scope.DEPLOYMENTS)}
    queryset = Deployment.objects.all()  # RolePermission reads the model from it

    @extend_schema(
        operation_id="gate_ask",
        summary="Ask the gate whether a build may deploy",
        description="Runs the environment's enabled rules, in order, against the build's manifest "
        "and records the answer (see /api/v1/gate-runs). A pass answers 200, a block 409; both "
        "bodies have the same shape, with one reason per rule saying what it found. Warn-only "
        "rules never block. Any role that can read deployments may ask, with a read token too.",
        request=GateRequestSerializer,
        responses=_merge(
            {
                200: OpenApiResponse(GateAnswerSerializer, description="Pass: the build may go."),
                409: OpenApiResponse(
                    GateAnswerSerializer,
                    description="Block: at least one rule blocks; `reasons` says which and why.",
                ),
            },
            problems(
                _404="No service has this slug (type `unknown-service`), or it has no "
                "environment of this name (type `unknown-environment`).",
                _413="The manifest lists more than 10,000 files (type `manifest-too-large`).",
            ),
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = GateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        service = service_by_slug(data["service"])
        environment = Environment.objects.filter(service=service, name=data["environment"]).first()
        if environment is None:
            raise Problem(
                f"Service {service.slug!r} has no environment {data['environment']!r}.",
                status_code=404,
                problem_type="unknown-environment",
            )
        run = services.gate_evaluate(
            service=service,
            environment=environment,
            commit_sha=data["commit"],
            manifest=data["manifest"],
            is_rollback=data["rollback"],
            requested_by=request_user(request),
        )
        (body,) = GateAnswerSerializer.shape([run])
        passed = run.verdict == GateRun.Verdict.PASS
        return Response(body, status=status.HTTP_200_OK if passed else status.HTTP_409_CONFLICT)


# --- The record -----------------------------------------------------------------------------------


class GateRunFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    environment = django_filters.CharFilter(
        field_name="environment__name", help_text="The environment's name."
    )
    verdict = django_filters.ChoiceFilter(choices=GateRun.Verdict.choices)

    class Meta:
        model = GateRun
        form = NoEmptyTypedValuesForm
        fields = ["service", "environment", "verdict"]


@extend_schema_view(
    list=extend_schema(
        summary="List the gate's answers",
        description="Newest first unless `ordering` says otherwise; blocked attempts included.",
        responses={200: GateRunSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="One answer of the gate", responses={200: GateRunSerializer}),
)
class GateRunViewSet(RowViewSet):
    model = GateRun
    row_serializer = GateRunSerializer
    base_ordering = ("-created_at", "-id")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = GateRunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.row(pk=pk))


# --- Rules ----------------------------------------------------------------------------------------


class GateRuleFilter(UpdatedAfterFilterSet):
    service = django_filters.CharFilter(field_name="service__slug", help_text="The service's slug.")
    environment = django_filters.CharFilter(
        field_name="environment__name", help_text="The environment's name."
    )
    kind = django_filters.ChoiceFilter(choices=GateRule.Kind.choices)
    enabled = StrictBooleanFilter()

    class Meta:
        model = GateRule
        form = NoEmptyTypedValuesForm
        fields = ["service", "environment", "kind", "enabled"]


RULE_PROBLEMS = problems(
    _400="Invalid input, or fields that do not fit the rule's kind (e.g. a required artifact "
    "without a path, sizes on a stale build rule, a minimum above the maximum): `errors` says "
    "which.",
)


@extend_schema_view(
    list=extend_schema(
        summary="List gate rules",
        description="By service, environment, then each rule's `order`.",
        responses={200: GateRuleSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="A gate rule", responses={200: GateRuleSerializer}),
    create=extend_schema(
        summary="Add a gate rule to an environment (admins)",
        request=GateRuleCreateSerializer,
        responses=_merge(
            {201: GateRuleSerializer},
            RULE_PROBLEMS,
            problems(_404="No service has this slug (type `unknown-service`)."),
        ),
        parameters=[LOCATION_HEADER],
    ),
    update=extend_schema(
        summary="Replace a gate rule's fields (admins)",
        request=GateRuleUpdateSerializer,
        responses=_merge({200: GateRuleSerializer}, RULE_PROBLEMS),
    ),
    partial_update=extend_schema(
        summary="Change some of a gate rule's fields (admins)",
        request=GateRuleUpdateSerializer,
        responses=_merge({200: GateRuleSerializer}, RULE_PROBLEMS),
    ),
    destroy=extend_schema(
        summary="Delete a gate rule (admins); past answers keep their reasons",
        responses={204: None},
    ),
)
class GateRuleViewSet(RowViewSet):
    model = GateRule
    row_serializer = GateRuleSerializer
    base_ordering = ("service__slug", "environment__name", "order", "id")
    lookup_value_regex = ID_REGEX
    filter_backends = [QueryFilterBackend]
    filterset_class = GateRuleFilter

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.row(pk=pk))

    def create(self, request: Request) -> Response:
        data = self.validated(GateRuleCreateSerializer)
        service = service_by_slug(data.pop("service"))
        data["environment"] = environment_named(service, data["environment"])
        rule = services.gate_rule_create(**data)
        return self.created(self.row(pk=rule.pk), name="gate-rule", key=rule.pk)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        rule = get_object_or_404(GateRule, pk=pk)
        changes: dict[str, Any] = self.validated(GateRuleUpdateSerializer, partial=partial)
        services.gate_rule_update(rule=rule, **changes)
        return Response(self.row(pk=rule.pk))

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        services.gate_rule_delete(rule=get_object_or_404(GateRule, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
