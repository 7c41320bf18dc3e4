"""Celery faces of communications: fan a sent communication out into deliveries, and send each.

Task names are spelled out: they are the contract with messages already queued and outbox rows
already written, so they stay as first published when the code moves.
"""

from __future__ import annotations

from celery import Task, shared_task

from incidents.communications import delivery as delivery_services
from incidents.models import Communication
from outbox.services import outbox_enqueue_many

# acks_late with reject_on_worker_lost: a task whose worker dies mid-run goes back to the queue
# and runs again, which the services make harmless (incidents.communications.delivery); the
# delivery engine's sweep (core.delivery) hands a dead worker's delivery on sooner than that.


@shared_task(
    name="incidents.tasks.communication_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def communication_deliver(communication_id: int) -> int | None:
    """Create the sent communication's deliveries and enqueue one task for each pending one."""
    communication = Communication.objects.filter(pk=communication_id).first()
    if communication is None:
        return None
    pending = delivery_services.deliveries_create(communication=communication)
    # Through the outbox like every carried task: one INSERT for them all, and the relay
    # publishes what a broker hiccup left behind.
    outbox_enqueue_many(
        task=delivery_send.name, kwargs_list=[{"delivery_id": pk} for pk in pending]
    )
    return len(pending)


@shared_task(
    name="incidents.tasks.delivery_send",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=delivery_services.MAX_RETRIES,
)
def delivery_send(self: Task[..., str], delivery_id: int) -> str:
    """Send one delivery once. Transient failures retry with exponential backoff and jitter;
    permanent ones (a refused address, a 4xx answer) are recorded and never retried. Run
    eagerly (no broker), there is no one to retry later, so the first failure is final."""
    final = self.request.is_eager or (
        # Set in the decorator; None would mean retrying for ever, never a final try.
        self.max_retries is not None and self.request.retries >= self.max_retries
    )
    # Drawn first: the row records when the retry is due, and the countdown is the same.
    delay = delivery_services.delivery_retry_delay(self.request.retries)
    try:
        return delivery_services.delivery_send(delivery_id=delivery_id, final=final, retry_in=delay)
    except delivery_services.TransientDeliveryError as error:
        raise self.retry(exc=error, countdown=delay) from None
