"""The outbox's one table."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """A task to publish to Celery, written in the same transaction as the change that needs
    it. A periodic relay publishes unpublished rows, so a request never waits on the broker
    and nothing is lost while it is down."""

    task = models.CharField(max_length=200, help_text="The Celery task's registered name.")
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's scan: unpublished rows, oldest first; published ones never match.
            models.Index(
                fields=["id"],
                name="outbox_pending_idx",
                condition=Q(published_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} ({'published' if self.published_at else 'waiting'})"
