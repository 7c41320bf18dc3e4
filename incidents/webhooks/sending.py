"""Sending one webhook delivery, once, and recording the attempt.

The same exactly-once rules as sent communications, by the same engine (core.delivery): the
delivery is claimed (committed) before the request, and the outcome and the attempt's log row are
recorded (committed) right after. A second run of the task (acks_late, the sweep) finds it
claimed by a live worker or sent and sends nothing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.delivery import (
    Attempt,
    DeliveryKind,
    PermanentDeliveryError,
    TransientDeliveryError,
    delivery_attempt_or_retry,
)
from deployments.probing import BlockedAddress, ProbeError, guarded_request, validate_target_url
from incidents.communications.delivery import MAX_RETRIES, WEBHOOK_TIMEOUT, delivery_retry_delay
from incidents.models import WebhookAttempt, WebhookDelivery
from incidents.models.webhooks import PING
from incidents.webhooks import payloads
from incidents.webhooks.services import DELIVER_TASK

# How much of an answer's body the log keeps: enough to read what the receiver said.
ANSWER_KEPT = 300
# An answer that says "later": timeouts, too early, too many; and every server error.
_RETRY_STATUSES = frozenset({408, 425, 429})


def _load(delivery_id: int) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    )


def _log(attempt: Attempt) -> None:
    delivery: WebhookDelivery = attempt.delivery
    WebhookAttempt.objects.create(
        delivery=delivery,
        # The claim counted it: attempts is this attempt's number.
        number=delivery.attempts,
        started_at=attempt.started_at,
        duration_ms=attempt.duration_ms,
        status_code=attempt.status_code,
        answer=attempt.answer,
        error=attempt.error[:500],
    )


def _send(attempt: Attempt) -> None:
    delivery: WebhookDelivery = attempt.delivery
    attempt.fields["last_status_code"] = None
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
    attempt.status_code = attempt.fields["last_status_code"] = answer.status_code
    attempt.answer = answer.body[:ANSWER_KEPT].decode("utf-8", errors="replace")
    if 200 <= answer.status_code < 300:
        return
    text = f"The endpoint answered HTTP {answer.status_code}."
    if answer.status_code >= 500 or answer.status_code in _RETRY_STATUSES:
        raise TransientDeliveryError(text)
    raise PermanentDeliveryError(text)


KIND = DeliveryKind(
    name="webhooks",
    model=WebhookDelivery,
    task=DELIVER_TASK,
    load=_load,
    send=_send,
    record=_log,
    max_attempts=MAX_RETRIES + 1,
)


def webhook_delivery_send(
    *, delivery_id: int, final: bool = False, retry_in: float | None = None
) -> str:
    """Send one delivery unless it is sent, failed, gone or held by another worker.

    Returns what happened ("sent", "failed", "busy", ...). Raises TransientDeliveryError when a
    retry may succeed, after recording the attempt and when the retry is due; with `final` it
    records a failure instead.
    """
    return delivery_attempt_or_retry(
        kind=KIND,
        delivery_id=delivery_id,
        final=final,
        retry_in=delivery_retry_delay(0) if retry_in is None else retry_in,
    )
