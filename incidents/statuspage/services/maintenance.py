"""Maintenance windows: checked, saved and deleted.

A window is shown on the public page as soon as it is saved (the cached page is dropped after
commit), and its subscribers hear of it (incidents.statuspage.maintenance_notices).
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from core.rendering import render
from incidents.models import Maintenance
from incidents.statuspage.maintenance_notices import maintenance_notice_schedule
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
    return maintenance


def maintenance_check(*, maintenance: Maintenance | None = None, **fields: Any) -> None:
    """Raise the ValidationError that saving these fields would raise (on `maintenance`, or on a
    new window), and write nothing: for a form that shows the service's errors beside its
    fields before it saves (the admin's)."""
    _checked(copy.copy(maintenance) if maintenance is not None else Maintenance(), fields)


def _save(maintenance: Maintenance, changes: dict[str, Any]) -> Maintenance:
    _checked(maintenance, changes)
    maintenance.description_html = render(maintenance.description)
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


@transaction.atomic
def maintenance_update(*, maintenance: Maintenance, **changes: Any) -> Maintenance:
    return _save(maintenance, changes)


@transaction.atomic
def maintenance_delete(*, maintenance: Maintenance) -> None:
    maintenance.delete()
    public_documents_mark_stale()
