from __future__ import annotations

from celery import shared_task

from api.idempotency import idempotency_purge


@shared_task(acks_late=True)
def idempotency_purge_task() -> int:
    """Periodic; deleting what is already gone deletes nothing, so a rerun is harmless."""
    return idempotency_purge()
