"""Rows of a post-mortem's sections: add, edit, delete and reorder, one row at a time.

Rows are written one by one and never through the incident's version, so two people working on
different rows (or one on a row and one on the prose) never collide. Each write is recorded in
the incident's history by simple-history's signals, with the acting user.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from incidents.models import SuccessCriterion
from incidents.models.base import MarkdownModel, Ordered


def _acting(row: MarkdownModel, user: AbstractBaseUser | None) -> None:
    # simple-history takes the user from the request; outside one (CLI, tasks) from here.
    row._history_user = user if user is not None and user.is_authenticated else None


@transaction.atomic
def part_save(
    *,
    row: MarkdownModel,
    user: AbstractBaseUser | None,
    fields: Iterable[str] | None = None,
) -> MarkdownModel:
    """Validate and store a new or changed row, with its rendered Markdown.

    A new ordered row goes to the end of its siblings. For a changed row, `fields` names what
    the person edited: only those are written, over the row as it is now in the database, so an
    edit of an item's title never undoes someone ticking it done meanwhile.
    """
    if row.pk is None and isinstance(row, Ordered):
        last = row.siblings().aggregate(last=Max("order"))["last"]
        row.order = 0 if last is None else last + 1
    if row.pk is not None and fields is not None:
        fields = set(fields)
        current = type(row).objects.select_for_update().get(pk=row.pk)
        for field in row._meta.concrete_fields:
            if field.name not in fields and not field.primary_key:
                setattr(row, field.attname, getattr(current, field.attname))
    row.render_markdown()
    row.full_clean()
    _acting(row, user)
    row.save()
    return row


@transaction.atomic
def part_delete(*, row: MarkdownModel, user: AbstractBaseUser | None) -> None:
    """Delete a row (and, through the database, its nested rows)."""
    _acting(row, user)
    row.delete()


@transaction.atomic
def part_move(*, row: Ordered, offset: int, user: AbstractBaseUser | None) -> Ordered:
    """Move a row `offset` places among its siblings (-1 is up), renumbering them 0..n-1."""
    siblings = list(row.siblings().select_for_update())
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == row.pk)
    target = max(0, min(len(siblings) - 1, index + offset))
    siblings.insert(target, siblings.pop(index))
    changed = []
    for position, sibling in enumerate(siblings):
        if sibling.order != position:
            sibling.order = position
            changed.append(sibling)
    if changed:
        bulk_update_with_history(
            changed,
            type(row),
            ["order"],
            default_user=user if user is not None and user.is_authenticated else None,
        )
    row.order = target
    return row


@transaction.atomic
def criterion_set_done(
    *, criterion: SuccessCriterion, done: bool, user: AbstractBaseUser | None
) -> SuccessCriterion:
    """Tick a success criterion as met, or take the tick back."""
    if criterion.done == done:
        return criterion
    criterion.done = done
    criterion.done_at = timezone.now() if done else None
    _acting(criterion, user)
    criterion.save(update_fields=["done", "done_at"])
    return criterion
