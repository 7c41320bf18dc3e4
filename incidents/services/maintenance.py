"""Scheduled maintenance windows, as the public status page shows them.

Each write stores the description's HTML beside its Markdown and drops the cached status page
once committed, so the page shows the change at its next request.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidents.models import Maintenance
from incidents.rendering import render
from incidents.status_page import status_page_invalidate

MAINTENANCE_FIELDS = frozenset({"service", "title", "description", "starts_at", "ends_at"})


def _save(maintenance: Maintenance, changes: dict[str, Any]) -> Maintenance:
    unknown = set(changes) - MAINTENANCE_FIELDS
    if unknown:
        raise TypeError(f"Not a maintenance field: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(maintenance, name, value)
    maintenance.description_html = render(maintenance.description)
    maintenance.full_clean()
    maintenance.save()
    transaction.on_commit(status_page_invalidate)
    return maintenance


@transaction.atomic
def maintenance_create(**fields: Any) -> Maintenance:
    return _save(Maintenance(), fields)


@transaction.atomic
def maintenance_update(*, maintenance: Maintenance, **changes: Any) -> Maintenance:
    return _save(maintenance, changes)


@transaction.atomic
def maintenance_delete(*, maintenance: Maintenance) -> None:
    maintenance.delete()
    transaction.on_commit(status_page_invalidate)
