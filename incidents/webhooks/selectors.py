"""Reads of the webhooks room: the endpoints with how their latest delivery went, and one
endpoint's latest deliveries with their attempts. A fixed number of queries each."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from incidents.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# The deliveries an endpoint's page shows: enough to see a pattern, few enough to read.
RECENT_DELIVERIES = 25


def endpoints_with_latest() -> QuerySet[WebhookEndpoint]:
    """Every endpoint, with `last_status` and `last_delivered_at` of its latest delivery."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
    return WebhookEndpoint.objects.annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_delivered_at=Subquery(latest.values("created_at")[:1]),
    ).order_by("name", "pk")


def endpoint_deliveries(
    *, endpoint: WebhookEndpoint, with_events: bool = False
) -> QuerySet[WebhookDelivery]:
    """Its deliveries, newest first, each with its attempts in order; `with_events` loads each
    event's payload too (the API shows the body that was sent)."""
    rows = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .order_by("-id")
    )
    if with_events:
        rows = rows.select_related("event")
    return rows
