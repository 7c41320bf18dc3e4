"""Ticking and assigning action items.

Every write here touches only the item's own row, never the incident's version: ticking an item
or changing its owner never conflicts with someone editing the post-mortem's prose.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from incidents.models import ActionItem
from incidents.services.history import history_record

# What the inline controls of the action items page may change.
ASSIGNABLE_FIELDS = frozenset({"owner", "due_date", "priority"})


@transaction.atomic
def action_item_complete(*, item: ActionItem, user: AbstractBaseUser | None) -> ActionItem:
    """Tick an item done. Ticking a done item again changes nothing (a double click is safe)."""
    now = timezone.now()
    changed = (
        ActionItem.objects.filter(pk=item.pk)
        .exclude(status=ActionItem.Status.DONE)
        .update(status=ActionItem.Status.DONE, done_at=now, done_by=user, updated_at=now)
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
    return item


@transaction.atomic
def action_item_reopen(*, item: ActionItem, user: AbstractBaseUser | None = None) -> ActionItem:
    changed = ActionItem.objects.filter(pk=item.pk, status=ActionItem.Status.DONE).update(
        status=ActionItem.Status.OPEN, done_at=None, done_by=None, updated_at=timezone.now()
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
    return item


@transaction.atomic
def action_item_assign(
    *, item: ActionItem, user: AbstractBaseUser | None, **changes: Any
) -> ActionItem:
    """Set the owner, due date or priority of one item, and nothing else of it."""
    unknown = set(changes) - ASSIGNABLE_FIELDS
    if unknown:
        raise TypeError(f"action_item_assign() got unexpected fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(item, name, value)
    item.full_clean(exclude=[f.name for f in ActionItem._meta.fields if f.name not in changes])
    ActionItem.objects.filter(pk=item.pk).update(**changes, updated_at=timezone.now())
    item.refresh_from_db()
    history_record(obj=item, user=user)
    return item
