"""Celery faces of the post-mortem. The task name is spelled out, as first published, so messages
queued before the code moved still find it."""

from __future__ import annotations

from celery import shared_task

from incidents.models import Incident
from incidents.postmortem import services


@shared_task(name="incidents.tasks.incident_rerender_markdown", acks_late=True)
def incident_rerender_markdown(incident_id: int) -> int | None:
    """Re-render an incident's stored HTML. Idempotent: rendering twice gives the same HTML."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    return services.incident_rerender_markdown(incident=incident)
