"""Delivering sent communications exactly once per recipient.

communication_send hands the fan-out to the outbox (the outbox app) in its own transaction, so
a send never waits on a broker that is down; everything below may run more than once.

Exactly once: the fan-out makes one Delivery row per (communication, channel, recipient), which
the database keeps unique however often it runs. Each delivery is sent by one task through the
one delivery engine (core.delivery): claimed (committed) before it is sent, recorded (committed)
right after, so a task that runs again finds it claimed or sent, and a worker killed mid-send
leaves only the message in flight possibly sent twice; the engine's sweep hands that one to
another worker when its lease runs out. A resend carries the same Message-ID.
"""

from __future__ import annotations

import logging
import random
import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db.models.functions import Lower

from core.delivery import (
    Attempt,
    DeliveryKind,
    PermanentDeliveryError,
    TransientDeliveryError,
    delivery_attempt_or_retry,
)
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
# The task that sends one delivery (incidents.communications.tasks.delivery_send).
SEND_TASK = "incidents.tasks.delivery_send"
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


def _load(delivery_id: int) -> Delivery | None:
    return (
        Delivery.objects.select_related("communication__incident__service", "maintenance__service")
        .filter(pk=delivery_id)
        .first()
    )


def _send(attempt: Attempt) -> None:
    delivery: Delivery = attempt.delivery
    if delivery.channel == Delivery.Channel.EMAIL:
        _send_email(delivery)
    else:
        _send_webhook(delivery)


KIND = DeliveryKind(
    name="communications",
    model=Delivery,
    task=SEND_TASK,
    load=_load,
    send=_send,
    max_attempts=MAX_RETRIES + 1,
)


def delivery_send(*, delivery_id: int, final: bool = False, retry_in: float | None = None) -> str:
    """Send one delivery unless it is sent, failed, or being sent by another worker right now
    (the engine: core.delivery).

    Returns what happened ("sent", "failed", "busy", ...). Raises TransientDeliveryError when a
    retry may succeed, after recording the attempt and that the retry is due in `retry_in`
    seconds; with `final`, it records a failure instead.
    """
    return delivery_attempt_or_retry(
        kind=KIND,
        delivery_id=delivery_id,
        final=final,
        retry_in=delivery_retry_delay(0) if retry_in is None else retry_in,
    )


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
    except ValueError as error:  # an address or header the mail library cannot write
        raise PermanentDeliveryError(f"Cannot address this message: {error}") from None
    email_send(message)


def email_send(message: EmailMessage) -> None:
    """Send one email, a failure told as the engine's transient or permanent error: every kind
    of delivery that is an email (reminders too) judges the mail server's answers alike."""
    try:
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
