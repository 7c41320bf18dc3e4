from __future__ import annotations

from celery import shared_task

from feed import services


@shared_task(acks_late=True, ignore_result=True)
def feed_sequence() -> int:
    """Give positions to committed events, so webhooks and quiet readers find them in order
    even when no reader has asked lately. Running twice numbers nothing twice (the clock's lock)."""
    return services.feed_sequence()


@shared_task(acks_late=True, ignore_result=True)
def feed_purge() -> int:
    """Delete events past their retention; a rerun finds nothing more to delete."""
    return services.feed_purge()
