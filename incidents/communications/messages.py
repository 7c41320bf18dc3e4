"""What a sent communication becomes on the wire: an email, or a signed webhook request.

The email's text part is the communication's Markdown and its HTML part the HTML stored from
that same Markdown (core.rendering), each wrapped by the templates in
templates/incidents/emails/ with a one-click unsubscribe link; the List-Unsubscribe headers say
the same for mail clients (RFC 2369 and RFC 8058).

A webhook is a JSON body signed with the endpoint's secret: X-Hindsight-Signature is
`sha256=` and the hex HMAC-SHA256 of "<X-Hindsight-Timestamp>.<body>". Receivers recompute it,
compare in constant time and refuse old timestamps, so a captured request cannot be replayed
later. Only public audiences are delivered, so neither carries an internal fact.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from incidents.models import Communication, Maintenance, Subscriber, WebhookEndpoint
from incidents.statuspage.subscriber_links import choice_url, unsubscribe_url

TIMESTAMP_HEADER = "X-Hindsight-Timestamp"
SIGNATURE_HEADER = "X-Hindsight-Signature"
DELIVERY_HEADER = "X-Hindsight-Delivery"
EVENT = "communication.sent"


def status_page_url() -> str:
    return f"{settings.HINDSIGHT_BASE_URL}/status/"


def _message_id(delivery_id: int) -> str:
    # The same for every attempt of one delivery: should a worker die between handing the
    # message to the server and recording it, the resend carries the same Message-ID, which
    # mail systems use to drop duplicates.
    host = urlsplit(settings.HINDSIGHT_BASE_URL).hostname or "hindsight.invalid"
    return f"<delivery-{delivery_id}@{host}>"


def _subscriber_email(
    template: str, context: Mapping[str, object], *, subscriber: Subscriber, delivery_id: int
) -> EmailMultiAlternatives:
    """An email to one subscriber from the `template`'s subject / text / html triplet, with the
    links every subscriber email carries and the headers that make a resend recognisable."""
    unsubscribe = unsubscribe_url(subscriber)
    context = {
        **context,
        "status_page_url": status_page_url(),
        "unsubscribe_url": unsubscribe,
        "choice_url": choice_url(subscriber),
    }
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string(f"{template}_subject.txt", context).split()),
        body=render_to_string(f"{template}_body.txt", context),
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": _message_id(delivery_id),
            DELIVERY_HEADER: str(delivery_id),
        },
    )
    message.attach_alternative(render_to_string(f"{template}_body.html", context), "text/html")
    return message


def email_message(
    *, communication: Communication, subscriber: Subscriber, delivery_id: int
) -> EmailMultiAlternatives:
    context = {
        "subject": communication.subject,
        "body": communication.body,
        "body_html": communication.body_html,
        "service": communication.incident.service.name,
    }
    return _subscriber_email(
        "incidents/emails/communication", context, subscriber=subscriber, delivery_id=delivery_id
    )


MAINTENANCE_TEMPLATE = "incidents/emails/maintenance_notice"


def maintenance_email_message(
    *, maintenance: Maintenance, notice: str, subscriber: Subscriber, delivery_id: int
) -> EmailMultiAlternatives:
    """A maintenance notice (scheduled, started, finished, rescheduled, cancelled), written from
    the window as it is when it goes out."""
    return _subscriber_email(
        MAINTENANCE_TEMPLATE,
        {"maintenance": maintenance, "notice": notice},
        subscriber=subscriber,
        delivery_id=delivery_id,
    )


def webhook_body(*, communication: Communication, delivery_id: int) -> bytes:
    payload = {
        "event": EVENT,
        "delivery": delivery_id,
        "service": communication.incident.service.name,
        "status_page_url": status_page_url(),
        "communication": {
            "id": communication.pk,
            "audience": communication.audience,
            "phase": communication.phase,
            "subject": communication.subject,
            "body": communication.body,
            "body_html": communication.body_html,
            "sent_at": communication.sent_at.isoformat() if communication.sent_at else None,
            "corrects": communication.corrects_id,
        },
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def webhook_headers(*, endpoint: WebhookEndpoint, body: bytes, delivery_id: int) -> dict:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "User-Agent": "Hindsight-Webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret=endpoint.secret, timestamp=timestamp, body=body),
        DELIVERY_HEADER: str(delivery_id),
    }
