"""Files attached to an incident: screenshots of graphs, logs, anything its writers drop in."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.db.models import Q

# What the page shows inline; everything else is only ever downloaded.
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def attachment_path(instance: Attachment, filename: str) -> str:
    # A random key, no extension and not the uploaded name: a storage served by mistake from a
    # web server still gives a browser nothing it would run, and names never collide.
    return f"attachments/{instance.incident_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="attachments"
    )
    # The timeline event it was dropped onto, if any; the file stays with the incident when the
    # event goes.
    timeline_event = models.ForeignKey(
        "incidents.TimelineEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=200)
    # Read from the file's first bytes, never from the browser's claim or the name.
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="attachment_name_not_empty"),
        ]
        indexes = [
            # An incident's attachments in upload order (the export, the zip).
            models.Index(fields=["incident", "created_at", "id"], name="attachment_incident_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES

    @property
    def path(self) -> str:
        """Where the app serves it; the one form of URL the renderer lets an image load."""
        return f"/attachments/{self.pk}/{quote(self.name, safe='')}"
