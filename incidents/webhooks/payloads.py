"""What a webhook delivery is on the wire: one JSON envelope for every kind, signed.

The signature scheme is the one receivers of sent communications already verify
(incidents.communications.messages): X-Hindsight-Signature is `sha256=` and the hex
HMAC-SHA256 of "<X-Hindsight-Timestamp>.<body>". The envelope adds the event's id, the same on
every retry and redelivery, so a receiver drops duplicates by it, and the time it happened; the
signed timestamp is the time of sending, so a receiver refuses old ones as replays.
"""

from __future__ import annotations

import json
import time
from typing import Any

from feed.kinds import EventKind
from incidents.communications.messages import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from incidents.models import WebhookDelivery
from incidents.models.webhooks import COMMUNICATION_SENT, PING

EVENT_HEADER = "X-Hindsight-Event"
EVENT_ID_HEADER = "X-Hindsight-Event-Id"

# The kinds an envelope can carry: every event of the feed, and the test ping.
ENVELOPE_KINDS = [*EventKind.choices, (PING, "Ping (a test request)")]
# The kinds an endpoint can follow: every event of the feed, and the first payload.
FOLLOWABLE_KINDS = [*EventKind.choices, (COMMUNICATION_SENT, "Communication sent (first payload)")]


def envelope(delivery: WebhookDelivery) -> dict[str, Any]:
    """The payload of a delivery; needs its endpoint and event loaded."""
    event = delivery.event
    if event is None:  # a ping
        return {
            "id": delivery.event_key,
            "kind": PING,
            "occurred_at": delivery.created_at.isoformat(),
            "subject_id": str(delivery.endpoint_id),
            "incident": "",
            "actor": "",
            "data": {"endpoint": delivery.endpoint.name},
            "delivery": delivery.pk,
        }
    return {
        "id": delivery.event_key,
        "kind": event.kind,
        "occurred_at": event.occurred_at.isoformat(),
        "subject_id": event.subject_id,
        "incident": event.incident,
        "actor": event.actor,
        "data": event.data,
        "delivery": delivery.pk,
    }


def body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(envelope(delivery), sort_keys=True, separators=(",", ":")).encode()


def headers(delivery: WebhookDelivery, *, content: bytes, secret: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "User-Agent": "Hindsight-Webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=content),
        DELIVERY_HEADER: str(delivery.pk),
        EVENT_HEADER: delivery.kind,
        EVENT_ID_HEADER: delivery.event_key,
    }
