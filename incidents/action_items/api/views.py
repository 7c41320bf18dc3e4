"""Action items across every incident, for dashboards and bots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cached_property

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend, StableOrderingFilter
from api.pagination import PagePagination
from api.permissions import request_user
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from core.lists import LeanList
from incidents.action_items import selectors
from incidents.action_items.api.filters import ActionItemFilter
from incidents.models import (
    ActionItem,
)
from incidents.postmortem import services
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.filters import REFERENCE_PATTERN
from incidents.postmortem.api.views.common import (
    LIST_PROBLEMS,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    ChangeOnPost,
    id_or_404,
    problems,
)

# --- Action items across incidents -------------------------------------------------------------

ACTION_ITEM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


class OpenChildSerializer(serializers.Serializer):
    """Schema only: an open step that a closing transition would leave behind."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=ActionItem.Status.choices)


class OpenChildrenProblemSerializer(serializers.Serializer):
    """Schema only: the 409 problem of closing an item that has open steps."""

    type = serializers.CharField(help_text="urn:hindsight:problem:open-children")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    open_children = OpenChildSerializer(many=True, help_text="The open steps, at any depth.")


OPEN_CHILDREN = {
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        OpenChildrenProblemSerializer,
        description=(
            "The item has open steps; nothing was written. `open_children` names them: send "
            '`close_children` ("done", or "wont_do" with `reason`) to close them with it.'
        ),
    )
}


@extend_schema_view(
    list=extend_schema(
        summary="List action items of every incident",
        description=(
            "All statuses unless `status` says otherwise. By default overdue items first (the "
            "most overdue leading), then by due date with undated ones last, then priority, "
            "then id. `ordering` takes due_date, priority, created_at, updated_at or id, `-` "
            "for descending."
        ),
        parameters=[
            OpenApiParameter(
                "incident",
                str,
                pattern=REFERENCE_PATTERN,
                description="An incident's reference: INC-12, inc-12 or 12.",
            )
        ],
        responses={200: s.ActionItemListSerializer(many=True), **problems(*LIST_PROBLEMS)},
    ),
    retrieve=extend_schema(
        summary="Read an action item",
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    ),
)
class ActionItemViewSet(viewsets.GenericViewSet):
    queryset = ActionItem.objects.all()  # for the role check: view/change_actionitem
    serializer_class = s.ActionItemListSerializer
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = ActionItemFilter
    ordering_fields = ["due_date", "priority", "created_at", "updated_at", "id"]
    ordering = None  # the selector's: overdue first, then due date, priority, id
    ordering_tiebreak = "id"
    pagination_class = PagePagination

    @cached_property
    def today(self) -> date:
        # One "today" per request: the order (overdue first) and each row's flag agree.
        return timezone.localdate()

    @cached_property
    def items(self) -> QuerySet[ActionItem]:
        # Asked for open items only, the selector orders them by due date alone, which an
        # index holds; the filterset still checks and applies `status` as for any value.
        asked = self.request.query_params.getlist("status")
        only_open = bool(asked) and set(asked) <= set(selectors.OPEN_ITEM_STATUSES)
        return selectors.action_item_list(today=self.today, statuses=asked if only_open else None)

    def get_queryset(self) -> QuerySet[ActionItem]:
        # Built once per request: the role check asks for it too (DRF's model permissions find
        # the model through it), and building the selector's joins, deferrals and order costs
        # a twentieth of a page of 100 rows. Every use filters a copy; none evaluates it.
        return self.items

    def get_object(self, queryset: QuerySet[ActionItem] | None = None) -> ActionItem:
        queryset = self.get_queryset() if queryset is None else queryset
        item = queryset.filter(pk=id_or_404(self.kwargs["pk"])).first()
        if item is None:
            raise NotFound("No action item has this id.")
        return item

    def _read(self, item: ActionItem) -> Response:
        return Response(s.ActionItemListSerializer.shape([item], {"today": self.today})[0])

    def list(self, request: Request) -> Response:
        items = self.filter_queryset(self.get_queryset())
        rows = items.values(*s.ActionItemListSerializer.values())
        # Its order (overdue first) is worked out per request, so no index holds it: the page's
        # ids are sorted out of the items alone, then only those rows joined.
        page = self.paginate_queryset(LeanList(rows, count=items, keys=items))
        assert page is not None  # pagination_class is set
        context = {"today": self.today}
        return self.get_paginated_response(s.ActionItemListSerializer.shape(page, context))

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._read(self.get_object())

    def _closing(self, close: Callable[[], ActionItem]) -> Response:
        """Run a closing transition; open steps it would leave behind are a 409 naming them."""
        try:
            close()
        except services.OpenSteps as refused:
            raise Problem(
                f"{refused.item.title} has open steps. Close them with it: send close_children "
                '"done", or "wont_do" with a reason.',
                status_code=409,
                problem_type="open-children",
                open_children=[
                    {"id": step.pk, "title": step.title, "status": step.status}
                    for step in refused.steps
                ],
            ) from None
        return self._read(self.get_object())

    @extend_schema(
        summary="Tick an action item done",
        description=(
            "Completing a done item changes nothing. An item with open steps is refused (409, "
            "naming them) unless `close_children` says how to close them with it. The body may "
            "be empty."
        ),
        request=s.ActionItemCompleteSerializer,
        responses={
            200: s.ActionItemListSerializer,
            **OPEN_CHILDREN,
            **problems(*WRITE_PROBLEMS),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def complete(self, request: Request, pk: str) -> Response:
        # The plain row: the list's read path defers fields the service's history needs.
        item = self.get_object(ActionItem.objects.all())
        serializer = s.ActionItemCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._closing(
            lambda: services.action_item_complete(
                item=item, user=request_user(request), **serializer.validated_data
            )
        )

    @extend_schema(
        summary="Set an action item to won't do, with the reason",
        description=(
            "For an open or started item: it then counts as neither open nor overdue, and no "
            "longer holds the deployment gate. A done or won't do item changes nothing (reopen "
            "it first). Open steps are refused (409) or closed with it as `close_children` "
            "says; closed as won't do, they take the same reason. No If-Match: a one-click "
            "transition that only ever moves an open item."
        ),
        request=s.ActionItemWontDoSerializer,
        responses={
            200: s.ActionItemListSerializer,
            **OPEN_CHILDREN,
            **problems(*WRITE_PROBLEMS),
        },
    )
    @action(detail=True, methods=["post"], url_path="wont-do", permission_classes=[ChangeOnPost])
    def wont_do(self, request: Request, pk: str) -> Response:
        item = self.get_object(ActionItem.objects.all())
        serializer = s.ActionItemWontDoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._closing(
            lambda: services.action_item_drop(
                item=item, user=request_user(request), **serializer.validated_data
            )
        )

    @extend_schema(
        summary="Start an action item (in progress)",
        description=(
            "Says someone is working on it. Only an open item starts; any other changes "
            "nothing (reopen a closed one first)."
        ),
        request=None,
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def start(self, request: Request, pk: str) -> Response:
        item = self.get_object(ActionItem.objects.all())
        services.action_item_start(item=item, user=request_user(request))
        return self._read(self.get_object())

    @extend_schema(
        summary="Reopen a done or won't do action item",
        description=(
            "It is open again, without its tick or reason. Reopening an open or started item "
            "changes nothing."
        ),
        request=None,
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def reopen(self, request: Request, pk: str) -> Response:
        item = self.get_object(ActionItem.objects.all())
        services.action_item_reopen(item=item, user=request_user(request))
        return self._read(self.get_object())
