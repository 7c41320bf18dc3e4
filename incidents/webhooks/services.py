"""Writes of the webhooks room: queueing an event's deliveries (the feed listener), and what
an admin does to an endpoint (save, rotate its secret, ping, redeliver, delete).

Every delivery goes through the outbox, written in the caller's transaction: an event, its
deliveries and their outbox rows commit together or not at all, and a broker that is down
delays them without losing any.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from feed.models import FeedEvent
from incidents.communications.services.webhooks import (
    webhook_endpoint_save,
    webhook_endpoint_secret_rotate,
)
from incidents.models import WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import PING
from outbox.services import outbox_enqueue_many

DELIVER_TASK = "incidents.tasks.webhook_deliver"

__all__ = [
    "DELIVER_TASK",
    "WebhookEndpointInactive",
    "webhook_deliveries_queue",
    "webhook_delivery_redeliver",
    "webhook_endpoint_delete",
    "webhook_endpoint_ping",
    "webhook_endpoint_save",
    "webhook_endpoint_secret_rotate",
    "webhook_log_prune",
]


class WebhookEndpointInactive(Exception):
    """A redelivery to an endpoint that is switched off: switch it on first."""


def _enqueue(deliveries: list[WebhookDelivery]) -> None:
    # One INSERT however many: an import's events, each to every following endpoint.
    outbox_enqueue_many(
        task=DELIVER_TASK, kwargs_list=[{"delivery_id": delivery.pk} for delivery in deliveries]
    )


def webhook_deliveries_queue(events: Sequence[FeedEvent]) -> None:
    """The feed listener (registered in incidents' AppConfig.ready()): one delivery per event
    and active endpoint that follows its kind, in the transaction that recorded them. A batch
    (an import's items) costs one read of the endpoints, however many events it holds."""
    # A JSON lookup would not run on SQLite, and there are few endpoints: one query, then pick.
    endpoints = list(WebhookEndpoint.objects.filter(active=True).values_list("pk", "events"))
    deliveries = [
        WebhookDelivery(endpoint_id=pk, event=event, kind=event.kind)
        for event in events
        for pk, kinds in endpoints
        if event.kind in (kinds or [])
    ]
    if deliveries:
        _enqueue(WebhookDelivery.objects.bulk_create(deliveries))


@transaction.atomic
def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A test request, signed like any delivery; it goes to a disabled endpoint too, so the
    receiver can be checked before it is switched on."""
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, kind=PING)
    _enqueue([delivery])
    return delivery


@transaction.atomic
def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with its own attempts; the payload
    carries the same event id, so a receiver that has it already can drop it."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if not endpoint.active:
        raise WebhookEndpointInactive(
            f"“{endpoint.name}” is switched off; switch it on to redeliver to it."
        )
    again = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=delivery.event_id,
        kind=delivery.kind,
        redelivery_of_id=delivery.redelivery_of_id or delivery.pk,
    )
    _enqueue([again])
    return again


def webhook_log_prune(*, done_before: datetime) -> int:
    """Forget deliveries sent or failed before `done_before`, with their attempts; pending ones
    stay, still being retried. Returns how many deliveries went."""
    finished = Q(status=WebhookDelivery.Status.SENT, sent_at__lt=done_before) | Q(
        status=WebhookDelivery.Status.FAILED, created_at__lt=done_before
    )
    _total, by_model = WebhookDelivery.objects.filter(finished).delete()
    return by_model.get(WebhookDelivery._meta.label, 0)


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Gone with its log; a delivery task still queued for it finds nothing and stops."""
    endpoint.delete()
