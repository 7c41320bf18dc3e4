from __future__ import annotations

from celery import shared_task

from incidents import services
from incidents.models import Incident


@shared_task(acks_late=True)
def incident_rerender_markdown(incident_id: int) -> int | None:
    """Re-render an incident's stored HTML. Idempotent: rendering twice gives the same HTML."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    return services.incident_rerender_markdown(incident=incident)
