"""Maintenance windows: checked, saved and deleted.

A window is shown on the public page as soon as it is saved (the cached page is dropped after
commit), and its subscribers hear of it (incidents.statuspage.maintenance_notices). Once it is
announced, a change of its times tells those who heard of it that it is rescheduled, and
deleting it calls it off: the row stays (its deliveries say who heard of it), hidden everywhere,
and they hear that it is cancelled.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.rendering import render
from incidents.models import Maintenance
from incidents.statuspage.maintenance_notices import (
    maintenance_announced,
    maintenance_heard_of,
    maintenance_notice_cancel,
    maintenance_notice_reschedule,
    maintenance_notice_schedule,
)
from incidents.statuspage.page import public_documents_mark_stale

MAINTENANCE_FIELDS = frozenset({"service", "title", "description", "starts_at", "ends_at"})


def _checked(maintenance: Maintenance, changes: dict[str, Any]) -> Maintenance:
    unknown = set(changes) - MAINTENANCE_FIELDS
    if unknown:
        raise TypeError(f"Not a maintenance field: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(maintenance, name, value)
    limit = settings.HINDSIGHT_MARKDOWN_MAX_LENGTH
    # Checked before anything renders it: the limit keeps a write (from the admin, say, which has
    # no form limit of its own) from rendering megabytes of Markdown.
    if len(maintenance.description or "") > limit:
        raise ValidationError({"description": f"At most {limit} characters."})
    maintenance.full_clean()
    try:
        maintenance.description_html = render(maintenance.description)
    except ValidationError as error:  # Markdown too costly to show
        raise ValidationError({"description": error.messages}) from None
    return maintenance


def maintenance_check(*, maintenance: Maintenance | None = None, **fields: Any) -> None:
    """Raise the ValidationError that saving these fields would raise (on `maintenance`, or on a
    new window), and write nothing: for a form that shows the service's errors beside its
    fields before it saves (the admin's)."""
    _checked(copy.copy(maintenance) if maintenance is not None else Maintenance(), fields)


def _save(maintenance: Maintenance, changes: dict[str, Any]) -> Maintenance:
    _checked(maintenance, changes)
    maintenance.save()
    public_documents_mark_stale()
    return maintenance


@transaction.atomic
def maintenance_create(**fields: Any) -> Maintenance:
    """Save a new window; its subscribers hear that it is scheduled (once, through the
    outbox)."""
    maintenance = _save(Maintenance(), fields)
    maintenance_notice_schedule(maintenance=maintenance)
    return maintenance


def _locked(maintenance: Maintenance) -> Maintenance:
    """The row as stored, locked until commit: a form has already set its new values on the
    instance it hands over, so the times before the change are read here."""
    return Maintenance.objects.select_for_update().get(pk=maintenance.pk)


@transaction.atomic
def maintenance_update(*, maintenance: Maintenance, **changes: Any) -> Maintenance:
    """Save the changes; when the times change after the window was announced, the addresses
    that heard of it are told it is rescheduled (once per change)."""
    stored = _locked(maintenance)
    # Columns that only the notices write are the stored ones, not the instance's.
    for column in (
        "scheduled_notice_at",
        "started_notice_at",
        "finished_notice_at",
        "cancelled_at",
        "schedule_revision",
    ):
        setattr(maintenance, column, getattr(stored, column))
    maintenance = _save(maintenance, changes)
    moved = (stored.starts_at, stored.ends_at) != (maintenance.starts_at, maintenance.ends_at)
    if moved and maintenance_announced(maintenance=stored):
        maintenance_notice_reschedule(maintenance=maintenance)
    return maintenance


@transaction.atomic
def maintenance_delete(*, maintenance: Maintenance) -> None:
    """Delete the window; one that has not ended and whose notice someone was sent is called
    off instead, and they are told so (once, however often it is deleted)."""
    stored = _locked(maintenance)
    if stored.cancelled_at is not None:
        # Called off already: kept for the record of who heard what.
        return
    now = timezone.now()
    if (
        stored.ends_at > now
        and maintenance_announced(maintenance=stored)
        and maintenance_heard_of(maintenance=stored)
    ):
        maintenance_notice_cancel(maintenance=stored, now=now)
        maintenance.cancelled_at = now
    else:
        maintenance.delete()
    public_documents_mark_stale()
