"""Reads of attachments: an incident's files as its exports list them, and which files its
stored Markdown still links to."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC
from typing import Any

from django.db.models import Q

from incidents.models import (
    ActionItem,
    Attachment,
    Cause,
    Communication,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel

# Every model whose Markdown belongs to one incident, with the path from it to the incident's id.
# A test holds this against the renderer's list of stored Markdown, so a new field is searched.
INCIDENT_MARKDOWN: tuple[tuple[type[MarkdownModel], str], ...] = (
    (Incident, "id"),  # "id", not "pk": in the history, pk is the version's own
    (TimelineEvent, "incident_id"),
    (Cause, "incident_id"),
    (Lesson, "incident_id"),
    (ActionItem, "incident_id"),
    (SuccessCriterion, "incident_id"),
    (StatusItem, "incident_id"),
    (PathPriority, "incident_id"),
    (SolutionOption, "priority__incident_id"),
    (FinalNote, "incident_id"),
    (Communication, "incident_id"),
)
# The app's link to a file, as Attachment.path writes it; a full URL to the app contains it too.
_LINK = re.compile(r"/attachments/([0-9]+)/")


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


def attachments_linked(incident_ids: Collection[int]) -> set[tuple[int, int]]:
    """(incident id, attachment id) for every link to a file in the stored Markdown of these
    incidents and of their rows, communications included, now or in any earlier version the
    history keeps. Two queries per kind of row, reading only rows whose text has a link."""
    linked: set[tuple[int, int]] = set()
    for model, path in INCIDENT_MARKDOWN:
        fields = model.markdown_fields
        has_link = Q()
        for name in fields:
            has_link |= Q(**{f"{name}__contains": "/attachments/"})
        # The texts as they are and as they were: a file whose link someone removed stays, so
        # restoring that text from the history brings back a link that still works.
        historical = model.history.model  # type: ignore[attr-defined]  # added by simple-history
        for manager in (model._default_manager, historical._default_manager):
            rows = (
                manager.filter(**{f"{path}__in": incident_ids})
                .filter(has_link)
                .values_list(path, *fields)
            )
            for incident_id, *texts in rows:
                linked.update(
                    (incident_id, int(found)) for text in texts for found in _LINK.findall(text)
                )
    return linked
