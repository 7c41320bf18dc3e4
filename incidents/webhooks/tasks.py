"""The Celery face of webhooks: send one delivery, retrying with backoff.

The name is spelled out: it is the contract with outbox rows already written.
"""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from incidents.communications.delivery import (
    MAX_RETRIES,
    TransientDeliveryError,
    delivery_retry_delay,
)
from incidents.webhooks import sending, services
from incidents.webhooks.services import DELIVER_TASK


@shared_task(
    name=DELIVER_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def webhook_deliver(self: Task[..., str], delivery_id: int) -> str:
    """Send one delivery once. Transient failures (no answer, 5xx, 429) retry with exponential
    backoff and jitter, up to MAX_RETRIES (about two hours); a 4xx or a refused address is
    recorded and not retried. Run eagerly (no broker), the first failure is final."""
    final = self.request.is_eager or (
        self.max_retries is not None and self.request.retries >= self.max_retries
    )
    # Drawn first: the row records when the retry is due, and the countdown is the same.
    delay = delivery_retry_delay(self.request.retries)
    try:
        return sending.webhook_delivery_send(delivery_id=delivery_id, final=final, retry_in=delay)
    except TransientDeliveryError as error:
        raise self.retry(exc=error, countdown=delay) from None


@shared_task(name="incidents.tasks.webhook_log_prune", acks_late=True, ignore_result=True)
def webhook_log_prune() -> int:
    """Beat, hourly: forget deliveries done for longer than HINDSIGHT_WEBHOOK_LOG_DAYS."""
    kept = timedelta(days=settings.HINDSIGHT_WEBHOOK_LOG_DAYS)
    return services.webhook_log_prune(done_before=timezone.now() - kept)
