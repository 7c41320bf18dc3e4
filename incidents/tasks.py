from __future__ import annotations

from celery import shared_task

from incidents import services
from incidents.models import Communication, Incident
from incidents.services import delivery as delivery_services


@shared_task(acks_late=True)
def incident_rerender_markdown(incident_id: int) -> int | None:
    """Re-render an incident's stored HTML. Idempotent: rendering twice gives the same HTML."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    return services.incident_rerender_markdown(incident=incident)


# --- Communications: fan-out and one task per delivery ---------------------------------------
# acks_late with reject_on_worker_lost: a task whose worker dies mid-run goes back to the queue
# and runs again, which the services make harmless (incidents.services.delivery).


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def communication_deliver(communication_id: int) -> int | None:
    """Create the sent communication's deliveries and enqueue one task for each pending one."""
    communication = Communication.objects.filter(pk=communication_id).first()
    if communication is None:
        return None
    pending = delivery_services.deliveries_create(communication=communication)
    for delivery_id in pending:
        delivery_send.apply_async(args=[delivery_id], ignore_result=True)
    return len(pending)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=delivery_services.MAX_RETRIES,
)
def delivery_send(self, delivery_id: int) -> str:
    """Send one delivery once. Transient failures retry with exponential backoff and jitter;
    permanent ones (a refused address, a 4xx answer) are recorded and never retried. Run
    eagerly (no broker), there is no one to retry later, so the first failure is final."""
    final = self.request.is_eager or self.request.retries >= self.max_retries
    try:
        return delivery_services.delivery_send(delivery_id=delivery_id, final=final)
    except delivery_services.TransientDeliveryError as error:
        raise self.retry(
            exc=error, countdown=delivery_services.delivery_retry_delay(self.request.retries)
        ) from None
