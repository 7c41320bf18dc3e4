"""Celery faces of the health runtime. Arguments are primitive ids; each task is idempotent.

Beat (hindsight/settings/background.py) runs `health_dispatch` every few seconds and
`health_results_roll_up` every hour. See deployments.services.probes for how a slot is claimed
once however many beats run.
"""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.utils.dateparse import parse_datetime

from deployments.models import Deployment, Service
from deployments.services import probes, retention


@shared_task(acks_late=True, ignore_result=True)
def health_dispatch() -> int:
    """Claim the due slots and enqueue their probes. A rerun finds them claimed: no-op."""
    return len(probes.health_dispatch_due())


@shared_task(acks_late=True, ignore_result=True)
def service_probe(service_id: int, slot: str) -> int | None:
    """Take the service's snapshot for this slot; the snapshot's id, or None if nothing was
    stored (service gone, no enabled checks, or the slot taken already)."""
    service = Service.objects.filter(pk=service_id).first()
    moment = parse_datetime(slot)
    if service is None or moment is None:
        return None
    snapshot = probes.service_probe_run(service=service, slot=moment)
    return snapshot.pk if snapshot is not None else None


@shared_task(acks_late=True)
def deployment_smoke_run(deployment_id: int) -> str | None:
    """Mark a just-succeeded deployment healthy or unhealthy; the health it has after."""
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        return None
    return probes.deployment_smoke_run(deployment=deployment).health


@shared_task(acks_late=True)
def health_results_roll_up() -> dict[str, int]:
    """Roll up and delete results past retention; a rerun finds nothing left to count."""
    return asdict(retention.results_roll_up())
