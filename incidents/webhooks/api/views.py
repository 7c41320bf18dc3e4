"""Webhook endpoints over the API, for admins only (the same as the page).

GET    /webhooks                                   every endpoint
POST   /webhooks                                   -> 201, with its secret (shown once)
GET    /webhooks/{id}
PATCH  /webhooks/{id}                              name, url, events, active
DELETE /webhooks/{id}                              gone, with its log
GET    /webhooks/{id}/deliveries                   newest first, attempts and payloads
POST   /webhooks/{id}/ping                         -> 202, a signed test delivery
POST   /webhooks/{id}/secret                       a new secret (shown once)
POST   /webhooks/{id}/deliveries/{d}/redeliver     -> 202, a new delivery of the same event
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.filters import QueryFilterBackend
from api.pagination import PagePagination
from api.permissions import RolePermission
from api.problems import Problem
from incidents.models import WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import MANAGE_WEBHOOKS
from incidents.postmortem.api.views.common import (
    LIST_PROBLEMS,
    LOCATION,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    acting,
    id_or_404,
    problems,
)
from incidents.webhooks import selectors, services
from incidents.webhooks.api.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
    WebhookEndpointWriteSerializer,
)

_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The endpoint's id.")
_DELIVERY = OpenApiParameter(
    "delivery_id", int, OpenApiParameter.PATH, description="The delivery's id."
)
_INACTIVE = "The endpoint is switched off: switch it on (PATCH active) to redeliver to it."


class ManagesWebhooks(RolePermission):
    """Admins only, reads included: an endpoint's URL and log say where the company's events
    go. A read-scope token still never writes (RolePermission)."""

    perms_map = {
        method: [MANAGE_WEBHOOKS]
        for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
    }
    message = "Only admins manage webhooks."


class WebhookViewSet(viewsets.GenericViewSet):
    queryset = WebhookEndpoint.objects.all()
    permission_classes = [ManagesWebhooks]
    lookup_value_regex = "[0-9]{1,18}"
    # No filters and no ordering: any other parameter is a 400 naming the allowed ones.
    filter_backends = [QueryFilterBackend]
    pagination_class = PagePagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_class(self) -> type[BaseSerializer]:
        if acting(self) in ("create", "partial_update"):
            return WebhookEndpointWriteSerializer
        if acting(self) in ("deliveries", "ping", "redeliver"):
            return WebhookDeliverySerializer
        return WebhookEndpointSerializer

    def get_object(self) -> WebhookEndpoint:
        endpoint = WebhookEndpoint.objects.filter(pk=id_or_404(self.kwargs["pk"])).first()
        if endpoint is None:
            raise NotFound("No webhook endpoint has this id.")
        return endpoint

    def _with_secret(self, endpoint: WebhookEndpoint, *, status: int = 200) -> Response:
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status)

    @extend_schema(
        summary="List webhook endpoints",
        responses={200: WebhookEndpointSerializer(many=True), **problems(*LIST_PROBLEMS)},
    )
    def list(self, request: Request) -> Response:
        endpoints = self.filter_queryset(WebhookEndpoint.objects.order_by("name", "pk"))
        page = self.paginate_queryset(endpoints)
        assert page is not None  # pagination_class is set
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        summary="Read a webhook endpoint",
        parameters=[_ID],
        responses={200: WebhookEndpointSerializer, **problems(*READ_PROBLEMS)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WebhookEndpointSerializer(self.get_object()).data)

    @extend_schema(
        summary="Add a webhook endpoint",
        description="Answers with its signing secret, this once. Without `events` it follows "
        "every event of the feed. The payload each event POSTs is the WebhookEvent component.",
        request=WebhookEndpointWriteSerializer,
        parameters=[LOCATION],
        responses={201: WebhookEndpointWithSecretSerializer, **problems(400, 401, 403, 415)},
    )
    def create(self, request: Request) -> Response:
        data = WebhookEndpointWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_save(endpoint=WebhookEndpoint(**data.validated_data))
        response = self._with_secret(endpoint, status=201)
        response["Location"] = request.build_absolute_uri(
            reverse("webhook-detail", kwargs={"pk": endpoint.pk})
        )
        return response

    @extend_schema(
        summary="Change a webhook endpoint",
        request=WebhookEndpointWriteSerializer,
        parameters=[_ID],
        responses={200: WebhookEndpointSerializer, **problems(*WRITE_PROBLEMS)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        data = WebhookEndpointWriteSerializer(endpoint, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        for name, value in data.validated_data.items():
            setattr(endpoint, name, value)
        services.webhook_endpoint_save(endpoint=endpoint)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Delete a webhook endpoint",
        description="It gets nothing more; its log of deliveries goes with it.",
        parameters=[_ID],
        responses={204: OpenApiResponse(description="Deleted."), **problems(*READ_PROBLEMS)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        services.webhook_endpoint_delete(endpoint=self.get_object())
        return Response(status=204)

    @extend_schema(
        summary="List an endpoint's deliveries",
        description="Newest first, each with every attempt (status code, the start of the "
        "answer, duration, error) and the payload it POSTs.",
        parameters=[_ID],
        responses={200: WebhookDeliverySerializer(many=True), **problems(*LIST_PROBLEMS)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        page = self.paginate_queryset(
            selectors.endpoint_deliveries(endpoint=endpoint, with_events=True)
        )
        assert page is not None  # pagination_class is set
        for delivery in page:
            delivery.endpoint = endpoint
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a test ping",
        description="A signed delivery of kind `ping`, queued now; it goes to a switched-off "
        "endpoint too. Follow it in `deliveries`.",
        request=None,
        parameters=[_ID],
        responses={202: WebhookDeliverySerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: str) -> Response:
        delivery = services.webhook_endpoint_ping(endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=202)

    @extend_schema(
        summary="Rotate the signing secret",
        description="Deliveries from now on are signed with the new secret, shown this once.",
        request=None,
        parameters=[_ID],
        responses={200: WebhookEndpointWithSecretSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"])
    def secret(self, request: Request, pk: str) -> Response:
        endpoint = services.webhook_endpoint_secret_rotate(endpoint=self.get_object())
        return self._with_secret(endpoint)

    @extend_schema(
        summary="Redeliver a delivery",
        description="Queues the same event again as a new delivery (the payload's `id` is the "
        "same, its `delivery` new). Refused while the endpoint is switched off.",
        request=None,
        parameters=[_ID, _DELIVERY],
        responses={202: WebhookDeliverySerializer, **problems(*READ_PROBLEMS, 409, d409=_INACTIVE)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver",
    )
    def redeliver(self, request: Request, pk: str, delivery_id: str) -> Response:
        endpoint = self.get_object()
        original = WebhookDelivery.objects.filter(
            pk=id_or_404(delivery_id), endpoint=endpoint
        ).first()
        if original is None:
            raise NotFound("This endpoint has no such delivery.")
        try:
            again = services.webhook_delivery_redeliver(delivery=original)
        except services.WebhookEndpointInactive as refusal:
            raise Problem(
                str(refusal), status_code=409, problem_type="webhook-endpoint-inactive"
            ) from None
        again.endpoint = endpoint
        return Response(WebhookDeliverySerializer(again).data, status=202)
