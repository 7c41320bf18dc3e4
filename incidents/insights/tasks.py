"""Celery faces of insights."""

from __future__ import annotations

from celery import shared_task

from incidents.insights import services


@shared_task(name=services.REFRESH_TASK, acks_late=True, ignore_result=True)
def search_document_refresh(incident_id: int) -> bool:
    """Rebuild an incident's search document if a change asked for it. Idempotent: a second run
    finds the request taken and does nothing."""
    return services.search_document_refresh(incident_id=incident_id)


@shared_task(name="incidents.insights.search_documents_sweep", acks_late=True, ignore_result=True)
def search_documents_sweep() -> int:
    """Build the documents the per-change refreshes missed (see the service). Safe to overlap or
    repeat: a second run finds them built."""
    return services.search_documents_sweep()
