"""Celery faces of the reminders: the hourly beat task, and sending one claimed reminder."""

from __future__ import annotations

from celery import Task, shared_task

from core.delivery import TransientDeliveryError
from incidents.insights.reminders import services


@shared_task(name=services.REMINDERS_DUE_TASK, acks_late=True, ignore_result=True)
def reminders_due() -> int:
    """Claim the reminders whose local hour it is. Safe to repeat or overlap: each reminder is
    claimed once (see the service)."""
    return services.reminders_due()


@shared_task(
    name=services.SEND_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=services.MAX_RETRIES,
)
def reminder_send(self: Task[..., str], delivery_id: int) -> str:
    """Send one claimed reminder once; a mail server that is away is tried again later, with
    growing pauses. Run eagerly there is nobody to retry later, so the first failure is final.
    Called with `delivery_id`, as the delivery engine's sweep calls every kind's task."""
    final = self.request.is_eager or (
        self.max_retries is not None and self.request.retries >= self.max_retries
    )
    # Drawn first: the row records when the retry is due, and the countdown is the same.
    delay = services.reminder_retry_delay(self.request.retries)
    try:
        return services.reminder_send(reminder_id=delivery_id, final=final, retry_in=delay)
    except TransientDeliveryError as error:
        raise self.retry(exc=error, countdown=delay) from None
