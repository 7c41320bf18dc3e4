"""Reads of attachments: an incident's files as its exports list them."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from incidents.models import Attachment, Incident


def attachments_exported(incident: Incident) -> list[Attachment]:
    """The incident's files in upload order, one query. A file dropped onto a timeline line
    hidden from the published post-mortem stays out, as the line does."""
    return list(
        Attachment.objects.filter(incident=incident)
        .exclude(timeline_event__hidden=True)
        .select_related("uploaded_by")
        .order_by("created_at", "id")
    )


def zip_member(attachment: Attachment) -> str:
    """Where the file lies inside an export with files; the Markdown's links point there."""
    return f"attachments/{attachment.pk}/{attachment.name}"


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "url": attachment.path,
        "file": zip_member(attachment),
        "timeline_event": attachment.timeline_event_id,
        "uploaded_by": attachment.uploaded_by.get_username() if attachment.uploaded_by else None,
        "created_at": attachment.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
