"""Sending one webhook delivery, once, and recording the attempt.

The same exactly-once rules as sent communications (incidents.communications.delivery): the
task locks its row (FOR UPDATE SKIP LOCKED, held while it sends), sends only if the row is
still pending, and records the attempt and the outcome in that transaction. A second run of the
task (acks_late) skips the row while the first holds it and finds it sent afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from deployments.probing import BlockedAddress, ProbeError, guarded_request, validate_target_url
from incidents.communications.delivery import (
    WEBHOOK_TIMEOUT,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from incidents.models import WebhookAttempt, WebhookDelivery
from incidents.models.webhooks import PING
from incidents.webhooks import payloads

# How much of an answer's body the log keeps: enough to read what the receiver said.
ANSWER_KEPT = 300
# An answer that says "later": timeouts, too early, too many; and every server error.
_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass
class _Outcome:
    status_code: int | None = None
    answer: str = ""


def webhook_delivery_send(*, delivery_id: int, final: bool = False) -> str:
    """Send one delivery unless it is sent, failed, gone or held by another worker.

    Returns what happened ("sent", "failed", "busy", ...). Raises TransientDeliveryError when a
    retry may succeed, after recording the attempt; with `final` it records a failure instead.
    """
    outcome, error = _attempt(delivery_id, final=final)
    if outcome == "retry":
        raise TransientDeliveryError(error)
    return outcome


@transaction.atomic
def _attempt(delivery_id: int, *, final: bool) -> tuple[str, str]:
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "busy", ""  # another worker holds it, or it (or its endpoint) is gone
    if delivery.status != WebhookDelivery.Status.PENDING:
        return str(delivery.status), ""
    outcome = _Outcome()
    started_at = timezone.now()
    started = time.monotonic()
    error = ""
    try:
        _send(delivery, outcome)
    except PermanentDeliveryError as failure:
        error, status = str(failure), WebhookDelivery.Status.FAILED
    except TransientDeliveryError as failure:
        error = str(failure)
        status = WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.PENDING
    else:
        status = WebhookDelivery.Status.SENT
    delivery.attempts += 1
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=started_at,
        duration_ms=round((time.monotonic() - started) * 1000),
        status_code=outcome.status_code,
        answer=outcome.answer,
        error=error[:500],
    )
    delivery.status = status
    delivery.last_status_code = outcome.status_code
    delivery.last_error = error[:500]
    if status == WebhookDelivery.Status.SENT:
        delivery.sent_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "last_status_code", "last_error", "sent_at"])
    if status == WebhookDelivery.Status.PENDING:
        return "retry", error
    return str(status), error


def _send(delivery: WebhookDelivery, outcome: _Outcome) -> None:
    endpoint = delivery.endpoint
    if delivery.kind != PING:
        if not endpoint.active:
            raise PermanentDeliveryError("The endpoint was switched off.")
        # An admin's redelivery is sent whatever the endpoint follows now; a first delivery
        # only while it still follows the kind.
        if delivery.redelivery_of_id is None and not endpoint.follows(delivery.kind):
            raise PermanentDeliveryError(f"The endpoint no longer follows {delivery.kind}.")
    try:
        validate_target_url(endpoint.url)
    except ValidationError as error:
        raise PermanentDeliveryError(" ".join(error.messages)) from None
    content = payloads.body(delivery)
    headers = payloads.headers(delivery, content=content, secret=endpoint.secret)
    try:
        answer = guarded_request(
            "POST", endpoint.url, content=content, headers=headers, timeout=WEBHOOK_TIMEOUT
        )
    except BlockedAddress as error:
        raise PermanentDeliveryError(str(error)) from None
    except ProbeError as error:
        raise TransientDeliveryError(str(error)) from None
    outcome.status_code = answer.status_code
    outcome.answer = answer.body[:ANSWER_KEPT].decode("utf-8", errors="replace")
    if 200 <= answer.status_code < 300:
        return
    text = f"The endpoint answered HTTP {answer.status_code}."
    if answer.status_code >= 500 or answer.status_code in _RETRY_STATUSES:
        raise TransientDeliveryError(text)
    raise PermanentDeliveryError(text)
