"""Action items' states and their assignment: starting an item, completing it, dropping it
("won't do", with a reason) and reopening it, with its open steps closed alongside when asked,
and setting its owner, due date or priority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from feed.kinds import EventKind
from incidents.live.services import live_mark_row
from incidents.models import ActionItem
from incidents.postmortem.services.feed import feed_row_saved
from incidents.postmortem.services.history import history_record

# What the inline controls of the action items page may change.
ASSIGNABLE_FIELDS = frozenset({"owner", "due_date", "priority"})

REASON_MAX_LENGTH = ActionItem._meta.get_field("closed_reason").max_length or 500
REASON_REQUIRED = "Say why it won't be done."


class OpenSteps(Exception):
    """Closing an item would leave steps of it open. Nothing was written; `steps` are the open
    ones at every depth, in order, so the person can be asked whether to close them too."""

    def __init__(self, *, item: ActionItem, steps: Sequence[ActionItem]):
        self.item = item
        self.steps = list(steps)
        names = "; ".join(step.title for step in self.steps)
        super().__init__(f"{item.title} has open steps: {names}.")


def _reason(reason: str) -> str:
    """A reason as it is kept: one line (the export writes it on one), at most the column's
    length."""
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"Keep the reason to {REASON_MAX_LENGTH} characters or fewer."}
        )
    return reason


def _open_steps(item: ActionItem) -> list[ActionItem]:
    """The open steps under `item` at any depth (a step under a done step still counts), in
    order, locked until the transaction ends so none is reopened under the one closing them.
    One query per level of nesting, whatever the number of steps."""
    found: list[ActionItem] = []
    level = [item.pk]
    while level:
        children = list(
            ActionItem.objects.select_for_update()
            .filter(parent_id__in=level)
            .order_by("order", "id")
        )
        found += [child for child in children if child.is_open]
        level = [child.pk for child in children]
    return found


def _history_many(rows: Sequence[ActionItem], user: User | None) -> None:
    """history_record() for several rows written with one .update()."""
    if rows:
        ActionItem.history.bulk_history_create(
            list(rows), update=True, default_user=user if user and user.is_authenticated else None
        )


def _closing(status: str, *, user: User | None, reason: str, now: datetime) -> dict[str, Any]:
    """The columns that close an item as `status` (done or won't do), and nothing else."""
    if status == ActionItem.Status.DONE:
        return {"status": status, "done_at": now, "done_by": user, "closed_reason": ""}
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    return {"status": status, "done_at": None, "done_by": None, "closed_reason": reason}


def _close(
    *,
    item: ActionItem,
    user: User | None,
    status: str,
    leaving: Iterable[str],
    reason: str,
    close_children: str,
) -> ActionItem:
    """Close `item` as `status` if it is still in one of the `leaving` statuses (else change
    nothing: a second click, or a click on a page read before someone else closed it).

    A parent is never closed over open steps: they are closed with it as `close_children` says
    (done, or won't do with `reason`), and without it OpenSteps is raised and nothing written.
    """
    now = timezone.now()
    leaving = tuple(leaving)
    user = user if user is not None and user.is_authenticated else None
    reason = _reason(reason)
    if close_children and close_children not in ActionItem.CLOSED_STATUSES:
        raise ValidationError({"close_children": "Close the steps as done or as won't do."})
    values = _closing(status, user=user, reason=reason, now=now)
    # Locks the row first, so the steps read below are the ones it is closed over.
    current = ActionItem.objects.select_for_update().get(pk=item.pk)
    if current.status not in leaving:
        item.refresh_from_db()
        return item
    steps = _open_steps(current)
    if steps and not close_children:
        raise OpenSteps(item=current, steps=steps)
    if steps:
        step_values = _closing(close_children, user=user, reason=reason, now=now)
        ActionItem.objects.filter(pk__in=[step.pk for step in steps]).update(
            **step_values, updated_at=now, version=F("version") + 1
        )
        closed_steps = list(ActionItem.objects.filter(pk__in=[s.pk for s in steps]))
        _history_many(closed_steps, user)
        for step in closed_steps:
            feed_row_saved(
                row=step, user=user, created=False, item_kind=_closed_kind(step), incident_too=False
            )
    changed = ActionItem.objects.filter(pk=item.pk, status__in=leaving).update(
        **values, updated_at=now, version=F("version") + 1
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
        feed_row_saved(row=item, user=user, created=False, item_kind=_closed_kind(item))
        live_mark_row(row=item, user=user)
    return item


def _closed_kind(item: ActionItem) -> EventKind:
    # Done is the event tooling waits for; won't do is a change like any other.
    if item.status == ActionItem.Status.DONE:
        return EventKind.ACTION_ITEM_COMPLETED
    return EventKind.ACTION_ITEM_CHANGED


@transaction.atomic
def action_item_complete(
    *, item: ActionItem, user: User | None, close_children: str = "", reason: str = ""
) -> ActionItem:
    """Tick an item done. Ticking a done item again changes nothing (a double click is safe).

    An item with open steps is refused with OpenSteps unless `close_children` says how to close
    them: "done", or "wont_do" with the `reason` they will not be done.
    """
    leaving = [value for value in ActionItem.Status.values if value != ActionItem.Status.DONE]
    return _close(
        item=item,
        user=user,
        status=ActionItem.Status.DONE,
        leaving=leaving,
        reason=reason,
        close_children=close_children,
    )


@transaction.atomic
def action_item_drop(
    *, item: ActionItem, user: User | None, reason: str, close_children: str = ""
) -> ActionItem:
    """Decide against an open or started item, saying why ("won't do"). It then counts as
    neither open nor overdue, and no longer holds the deployment gate.

    Only an open or started item is dropped: a done one is reopened first, so a click on a page
    read before someone ticked it never undoes that. Open steps are refused or closed with it
    as for action_item_complete; closed as won't do, they take the same reason.
    """
    return _close(
        item=item,
        user=user,
        status=ActionItem.Status.WONT_DO,
        leaving=ActionItem.OPEN_STATUSES,
        reason=reason,
        close_children=close_children,
    )


@transaction.atomic
def action_item_start(*, item: ActionItem, user: User | None) -> ActionItem:
    """Say someone is working on an open item. Only an open item starts: a closed one is
    reopened first, so a click on a page read before someone closed it never undoes that."""
    changed = ActionItem.objects.filter(pk=item.pk, status=ActionItem.Status.OPEN).update(
        status=ActionItem.Status.IN_PROGRESS, updated_at=timezone.now(), version=F("version") + 1
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
        feed_row_saved(row=item, user=user, created=False)
        live_mark_row(row=item, user=user)
    return item


@transaction.atomic
def action_item_reopen(*, item: ActionItem, user: User | None = None) -> ActionItem:
    """Take back a done or won't do: the item is open again, without its tick or reason (the
    history keeps both). An item that is open or started changes nothing."""
    changed = ActionItem.objects.filter(pk=item.pk, status__in=ActionItem.CLOSED_STATUSES).update(
        status=ActionItem.Status.OPEN,
        done_at=None,
        done_by=None,
        closed_reason="",
        updated_at=timezone.now(),
        version=F("version") + 1,
    )
    item.refresh_from_db()
    if changed:
        history_record(obj=item, user=user)
        feed_row_saved(row=item, user=user, created=False)
        live_mark_row(row=item, user=user)
    return item


@transaction.atomic
def action_item_assign(*, item: ActionItem, user: User | None, **changes: Any) -> ActionItem:
    """Set the owner, due date or priority of one item, and nothing else of it."""
    unknown = set(changes) - ASSIGNABLE_FIELDS
    if unknown:
        raise TypeError(f"action_item_assign() got unexpected fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(item, name, value)
    item.full_clean(exclude=[f.name for f in ActionItem._meta.fields if f.name not in changes])
    ActionItem.objects.filter(pk=item.pk).update(
        **changes, updated_at=timezone.now(), version=F("version") + 1
    )
    item.refresh_from_db()
    history_record(obj=item, user=user)
    feed_row_saved(row=item, user=user, created=False)
    live_mark_row(row=item, user=user)
    return item
