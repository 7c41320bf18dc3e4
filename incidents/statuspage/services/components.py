"""Components and groups: creating, editing, deleting.

What a component is (its name, group, order, the checks it watches, whether it follows them)
is the editors' to say, from the components pages or the admin. Its status is not written
here: that goes through component_set_status and the others in component_status, which compare
and set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from deployments.models import HealthCheck
from incidents.models import Component, ComponentGroup
from incidents.statuspage.page import public_documents_mark_stale
from incidents.statuspage.services.component_status import (
    component_status_history_record,
    components_follow_checks,
)

COMPONENT_GROUP_FIELDS = frozenset({"name", "order"})
COMPONENT_FIELDS = frozenset({"name", "group", "order", "follows_checks"})


def _apply(row: Any, changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"Not a field this service sets: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(row, name, value)
    # The model's validation (lengths, a group's unique name): the same errors from a page, the
    # admin or a shell, raised before anything is written.
    row.full_clean(exclude=["status", "status_changed_at", "status_changed_by"])


@transaction.atomic
def component_group_save(*, group: ComponentGroup | None = None, **fields: Any) -> ComponentGroup:
    """Create a group (no `group`) or change one; `fields` are name and order."""
    group = group if group is not None else ComponentGroup()
    _apply(group, fields, COMPONENT_GROUP_FIELDS)
    group.save()
    public_documents_mark_stale()
    return group


@transaction.atomic
def component_group_delete(*, group: ComponentGroup) -> None:
    """Its components stay, shown on their own (the foreign key sets null)."""
    group.delete()
    public_documents_mark_stale()


@transaction.atomic
def component_save(
    *,
    component: Component | None = None,
    health_checks: Iterable[HealthCheck] | None = None,
    **fields: Any,
) -> Component:
    """Create a component (no `component`) or change one; `fields` are name, group, order and
    follows_checks. `health_checks`, when given, replaces the checks it watches (None keeps
    them). A component that follows its checks takes what they propose at once, not at their
    next change, so turning it on shows the checks' word straight away."""
    created = component is None
    component = component if component is not None else Component()
    _apply(component, fields, COMPONENT_FIELDS)
    component.save()
    if created:
        # Its status from its first moment: the bars show it from the day it was made.
        component_status_history_record(
            changes={component.pk: component.status}, at=component.created_at
        )
    if health_checks is not None:
        component.health_checks.set(list(health_checks))
    if component.follows_checks:
        components_follow_checks(component_ids=[component.pk])
        component.refresh_from_db()
    public_documents_mark_stale()
    return component


@transaction.atomic
def component_delete(*, component: Component) -> None:
    """Gone from the status page, and from the updates that named it (published ones keep
    their text)."""
    component.delete()
    public_documents_mark_stale()
