"""Action items across every incident, for dashboards and bots."""

from __future__ import annotations

from datetime import date
from functools import cached_property

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import QueryFilterBackend, StableOrderingFilter
from api.pagination import PagePagination
from api.permissions import request_user
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
    ChangeOnPost,
    id_or_404,
    problems,
)

# --- Action items across incidents -------------------------------------------------------------

ACTION_ITEM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


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

    def get_queryset(self) -> QuerySet[ActionItem]:
        return selectors.action_item_list(today=self.today, statuses=None)

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
        page = self.paginate_queryset(items.values(*s.ActionItemListSerializer.values()))
        assert page is not None  # pagination_class is set
        context = {"today": self.today}
        return self.get_paginated_response(s.ActionItemListSerializer.shape(page, context))

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._read(self.get_object())

    @extend_schema(
        summary="Tick an action item done",
        description="Completing a done item changes nothing.",
        request=None,
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def complete(self, request: Request, pk: str) -> Response:
        # The plain row: the list's read path defers fields the service's history needs.
        item = self.get_object(ActionItem.objects.all())
        services.action_item_complete(item=item, user=request_user(request))
        return self._read(self.get_object())

    @extend_schema(
        summary="Reopen a done action item",
        description="Reopening an item that is not done changes nothing.",
        request=None,
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def reopen(self, request: Request, pk: str) -> Response:
        item = self.get_object(ActionItem.objects.all())
        services.action_item_reopen(item=item, user=request_user(request))
        return self._read(self.get_object())
