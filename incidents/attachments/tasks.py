"""Celery face of attachments: the hourly clean-up of files no text uses. The task name is
spelled out, as the beat schedule in settings names it."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from incidents.attachments import services


@shared_task(name="incidents.tasks.attachments_unused_delete", acks_late=True)
def attachments_unused_delete() -> int:
    """Delete files older than HINDSIGHT_ATTACHMENT_UNUSED_HOURS that no text of their incident
    links to. Idempotent: a second run (a redelivery, an overlapping beat) finds nothing more."""
    grace = timedelta(hours=settings.HINDSIGHT_ATTACHMENT_UNUSED_HOURS)
    return services.attachments_unused_delete(uploaded_before=timezone.now() - grace)
