"""Celery faces of the status page's side: the subscriber's confirmation mail, which the sign-up
hands to the outbox, and the maintenance notices (incidents.statuspage.maintenance_notices).

The task name is spelled out: it is the contract with outbox rows already written and messages
already queued, so it stays as first published when the code moves.
"""

from __future__ import annotations

from celery import shared_task

from incidents.communications.tasks import delivery_send
from incidents.models import Maintenance, Subscriber
from incidents.statuspage import maintenance_notices, services
from outbox.services import outbox_enqueue_many

# acks_late with reject_on_worker_lost: a task whose worker dies mid-run goes back to the queue
# and runs again, which the service makes harmless (at most one mail per resend gap).


@shared_task(
    name="incidents.tasks.subscriber_confirmation_send",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def subscriber_confirmation_send(subscriber_id: int) -> bool | None:
    """Send a pending subscriber the confirmation link; None if the subscription is gone."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return None
    return services.subscriber_confirmation_send(subscriber=subscriber)


@shared_task(
    name="incidents.tasks.maintenance_notice_send",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def maintenance_notice_send(maintenance_id: int, notice: str, revision: int = 0) -> int | None:
    """Make a maintenance notice's deliveries (one per recipient) and enqueue one task for each
    pending one, as a status page update's are; None if the window is gone."""
    maintenance = Maintenance.objects.filter(pk=maintenance_id).first()
    if maintenance is None:
        return None
    pending = maintenance_notices.maintenance_deliveries_create(
        maintenance=maintenance, notice=notice, revision=revision
    )
    # Through the outbox like every carried task: one INSERT for them all, and the relay
    # publishes what a broker hiccup left behind.
    outbox_enqueue_many(
        task=delivery_send.name, kwargs_list=[{"delivery_id": pk} for pk in pending]
    )
    return len(pending)


@shared_task(name="incidents.tasks.maintenance_notices_due", ignore_result=True)
def maintenance_notices_due() -> int:
    """The beat's: hand the started and finished notices that are due to the outbox."""
    return maintenance_notices.maintenance_notices_due()
