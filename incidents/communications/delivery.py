"""Delivering sent communications exactly once per recipient.

communication_send hands the fan-out to the outbox (the outbox app) in its own transaction, so
a send never waits on a broker that is down; everything below may run more than once.

Exactly once: the fan-out makes one Delivery row per (communication, channel, recipient), which
the database keeps unique however often it runs. Each delivery is sent by one task that locks
its row (FOR UPDATE SKIP LOCKED, held while it sends), sends only if the row is still pending,
and marks it sent in the same transaction. A second task for the same row skips it while the
first holds it and finds it sent afterwards; a worker killed mid-send drops its connection, so
PostgreSQL releases the lock and the redelivered task sends it. The one window left is between
the mail server accepting a message and the commit; a resend then carries the same Message-ID.
"""

from __future__ import annotations

import logging
import random
import smtplib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from deployments.probing import BlockedAddress, ProbeError, guarded_request, validate_target_url
from incidents.communications import messages
from incidents.models import (
    Audience,
    Communication,
    Delivery,
    MaintenanceNotice,
    Subscriber,
    WebhookEndpoint,
)
from incidents.models.webhooks import COMMUNICATION_SENT
from incidents.statuspage.selectors import subscribers_reached, update_components

logger = logging.getLogger(__name__)

DELIVER_TASK = "incidents.tasks.communication_deliver"
FANOUT_BATCH = 1000
WEBHOOK_TIMEOUT = 10.0
WEBHOOK_PREFIX = "webhook:"
# What goes to subscribers and webhooks when it is sent. The public post-mortem is public too, but
# it is read on the incident's public page, not pushed into inboxes.
DELIVERED_AUDIENCES = frozenset({Audience.USER_EMAIL, Audience.STATUS_PAGE})


def is_delivered(audience: str) -> bool:
    return audience in DELIVERED_AUDIENCES


# Retries: 10 s, 20 s, 40 s ... (each with jitter), at most an hour apart, up to 10 of them:
# roughly two hours of trying before a delivery is marked failed.
RETRY_FIRST_DELAY = 10.0
RETRY_MAX_DELAY = 3600.0
MAX_RETRIES = 10


class TransientDeliveryError(Exception):
    """Worth trying again later: a connection error, a timeout, a 4xx SMTP or 5xx HTTP answer."""


class PermanentDeliveryError(Exception):
    """Trying again cannot help: a refused address, a 4xx HTTP answer, a blocked URL."""


# --- Fan-out ------------------------------------------------------------------------------------


def deliveries_create(*, communication: Communication) -> list[int]:
    """One Delivery per confirmed, subscribed address that hears about it and per active
    webhook endpoint following communication.sent; returns the ids of those still pending. Safe to run any number of times: rows that exist are kept."""
    if communication.status != Communication.Status.SENT or not is_delivered(
        communication.audience
    ):
        return []
    # A status page update goes to whole-page subscribers and to those who chose a component it
    # names (to everyone when it names none); a user email names no component, so it goes to
    # every subscriber.
    named = (
        update_components(communication_id=communication.pk)
        if communication.audience == Audience.STATUS_PAGE
        else None
    )
    emails = (
        subscribers_reached(components=named, everyone_if_none=True)
        .order_by("pk")
        .values_list("email", flat=True)
    )
    # The endpoints that still take this payload (incidents.models.webhooks); few rows, and a
    # JSON lookup SQLite cannot do, so the choice is made here.
    endpoints = [
        pk
        for pk, events in WebhookEndpoint.objects.filter(active=True).values_list("pk", "events")
        if COMMUNICATION_SENT in (events or [])
    ]
    recipients = [(Delivery.Channel.EMAIL, email) for email in emails.iterator(FANOUT_BATCH)]
    recipients += [(Delivery.Channel.WEBHOOK, f"{WEBHOOK_PREFIX}{pk}") for pk in endpoints]
    for start in range(0, len(recipients), FANOUT_BATCH):
        # INSERT ... ON CONFLICT DO NOTHING on delivery_once_per_recipient: get_or_create for a
        # batch, so a fan-out that runs again creates nothing twice.
        Delivery.objects.bulk_create(
            [
                Delivery(communication=communication, channel=channel, recipient=recipient)
                for channel, recipient in recipients[start : start + FANOUT_BATCH]
            ],
            ignore_conflicts=True,
        )
    return list(
        Delivery.objects.filter(communication=communication, status=Delivery.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- One delivery -------------------------------------------------------------------------------


def delivery_send(*, delivery_id: int, final: bool = False) -> str:
    """Send one delivery unless it is sent, failed, or being sent by another worker right now.

    Returns what happened ("sent", "failed", "busy", ...). Raises TransientDeliveryError when a
    retry may succeed, after recording the attempt; with `final`, it records a failure instead.
    """
    outcome, error = _attempt(delivery_id, final=final)
    if outcome == "retry":
        raise TransientDeliveryError(error)
    return outcome


@transaction.atomic
def _attempt(delivery_id: int, *, final: bool) -> tuple[str, str]:
    delivery = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("communication__incident__service", "maintenance__service")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "busy", ""  # another worker holds it, or it is gone
    if delivery.status != Delivery.Status.PENDING:
        return str(delivery.status), ""
    delivery.attempts += 1
    try:
        if delivery.channel == Delivery.Channel.EMAIL:
            _send_email(delivery)
        else:
            _send_webhook(delivery)
    except PermanentDeliveryError as error:
        _record(delivery, Delivery.Status.FAILED, str(error))
        return "failed", str(error)
    except TransientDeliveryError as error:
        _record(delivery, Delivery.Status.FAILED if final else Delivery.Status.PENDING, str(error))
        return ("failed" if final else "retry"), str(error)
    delivery.sent_at = timezone.now()
    _record(delivery, Delivery.Status.SENT, "")
    return "sent", ""


def _record(delivery: Delivery, status: str, error: str) -> None:
    delivery.status = status
    delivery.last_error = error[:500]
    delivery.save(update_fields=["status", "attempts", "last_error", "sent_at"])


def _send_email(delivery: Delivery) -> None:
    subscriber = (
        Subscriber.objects.annotate(address=Lower("email"))
        .filter(address=delivery.recipient.lower())
        .first()
    )
    if subscriber is None or not subscriber.active:
        raise PermanentDeliveryError("The address unsubscribed before the message went out.")
    maintenance = delivery.maintenance
    if (
        maintenance is not None
        and maintenance.cancelled_at is not None
        and delivery.notice != MaintenanceNotice.CANCELLED
    ):
        raise PermanentDeliveryError("The maintenance was called off before this went out.")
    try:
        if maintenance is not None:
            message = messages.maintenance_email_message(
                maintenance=maintenance,
                notice=delivery.notice,
                subscriber=subscriber,
                delivery_id=delivery.pk,
            )
        else:
            assert delivery.communication is not None  # delivery_of_one_thing
            message = messages.email_message(
                communication=delivery.communication, subscriber=subscriber, delivery_id=delivery.pk
            )
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _text in error.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            raise TransientDeliveryError(f"The mail server deferred the address: {codes}") from None
        raise PermanentDeliveryError(f"The mail server refused the address: {codes}") from None
    except smtplib.SMTPResponseException as error:
        text = f"The mail server answered {error.smtp_code}: {error.smtp_error!r}"
        if 400 <= error.smtp_code < 500:
            raise TransientDeliveryError(text) from None
        raise PermanentDeliveryError(text) from None
    except (smtplib.SMTPException, OSError) as error:
        # Connection refused or dropped, timeouts, TLS trouble: the server may be back soon.
        raise TransientDeliveryError(f"{type(error).__name__}: {error}") from None
    except ValueError as error:  # an address or header the mail library cannot write
        raise PermanentDeliveryError(f"Cannot address this message: {error}") from None


# An answer that says "later": timeouts, too early, too many, and server errors.
_RETRY_STATUSES = frozenset({408, 425, 429})


def _send_webhook(delivery: Delivery) -> None:
    endpoint_id = delivery.recipient.removeprefix(WEBHOOK_PREFIX)
    endpoint = WebhookEndpoint.objects.filter(pk=int(endpoint_id), active=True).first()
    if endpoint is None or not endpoint.follows(COMMUNICATION_SENT):
        raise PermanentDeliveryError(
            "The webhook endpoint was removed, disabled or no longer follows communication.sent."
        )
    try:
        validate_target_url(endpoint.url)
    except ValidationError as error:
        raise PermanentDeliveryError(" ".join(error.messages)) from None
    # Maintenance notices go to subscribers only: a webhook delivery is a communication's.
    assert delivery.communication is not None
    body = messages.webhook_body(communication=delivery.communication, delivery_id=delivery.pk)
    headers = messages.webhook_headers(endpoint=endpoint, body=body, delivery_id=delivery.pk)
    try:
        answer = guarded_request(
            "POST", endpoint.url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
    except BlockedAddress as error:
        raise PermanentDeliveryError(str(error)) from None
    except ProbeError as error:
        raise TransientDeliveryError(str(error)) from None
    if 200 <= answer.status_code < 300:
        return
    text = f"The endpoint answered HTTP {answer.status_code}."
    if answer.status_code >= 500 or answer.status_code in _RETRY_STATUSES:
        raise TransientDeliveryError(text)
    raise PermanentDeliveryError(text)


def delivery_retry_delay(retries: int) -> float:
    """Seconds before retry number `retries` + 1: exponential, capped, with jitter so that a
    burst of failures does not come back as a burst."""
    ceiling = min(RETRY_MAX_DELAY, RETRY_FIRST_DELAY * 2**retries)
    return ceiling / 2 + random.uniform(0, ceiling / 2)
