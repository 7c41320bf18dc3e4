from __future__ import annotations

from celery import shared_task

from outbox import services


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay() -> int:
    """Publish what the outbox holds; the beat runs it every few seconds."""
    return services.outbox_relay()
