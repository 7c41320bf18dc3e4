"""Celery faces of what every app shares."""

from __future__ import annotations

from celery import shared_task

from core import delivery


@shared_task(name="core.tasks.deliveries_sweep", ignore_result=True)
def deliveries_sweep() -> int:
    """The beat's: hand back deliveries a dead worker held (core.delivery)."""
    return delivery.deliveries_sweep()
