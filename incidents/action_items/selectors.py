"""Reads of action items across incidents: the page's list, an owner's open items, and the items
that hold deployments back.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)

from incidents.models import (
    ActionItem,
    Incident,
)

# Spelled as in the partial indexes on ActionItem, so PostgreSQL can use them for these reads.
# Won't do is not among them: an item decided against is neither open, overdue nor blocking.
OPEN_ITEM_STATUSES: list[str] = list(ActionItem.OPEN_STATUSES)


def action_items_open_for(*, user: User, today: date) -> QuerySet[ActionItem]:
    """The open items `user` owns, soonest due first, so overdue ones lead; undated ones last.

    Each row carries `overdue` (due before `today`).
    """
    return (
        ActionItem.objects.filter(owner=user, status__in=OPEN_ITEM_STATUSES)
        .select_related("incident")
        .annotate(
            overdue=ExpressionWrapper(
                Q(due_date__isnull=False) & Q(due_date__lt=today), output_field=BooleanField()
            )
        )
        .order_by(F("due_date").asc(nulls_last=True), "id")
    )


def action_items_blocking_deployments() -> QuerySet[ActionItem]:
    """Open items the deployment gate blocks on, with their incident and service, by service."""
    return (
        ActionItem.objects.filter(blocks_deployments=True, status__in=OPEN_ITEM_STATUSES)
        .select_related("incident__service", "owner")
        .order_by("incident__service__name", "-incident__number", "order", "id")
    )


def action_item_list(
    *,
    today: date,
    owner: User | None = None,
    overdue: bool = False,
    due_between: tuple[date, date] | None = None,
    horizon: str = "",
    incident_number: int | None = None,
    blocking: bool = False,
    statuses: list[str] | None = OPEN_ITEM_STATUSES,
) -> QuerySet[ActionItem]:
    """Action items of every incident (sub-items too) for the action items page.

    Overdue first (the most overdue leading), then by due date with undated ones last, then
    priority. Each row carries `overdue` and what it shows (incident, service, owner, parent),
    so a page of rows costs one query. `statuses=None` means every status; `due_between` is
    inclusive at both ends.
    """
    items = (
        ActionItem.objects.select_related("incident__service", "owner", "parent")
        # A row shows titles, not prose: leave the incident's and the items' Markdown behind.
        .defer(
            "detail",
            "detail_html",
            "parent__detail",
            "parent__detail_html",
            *(
                f"incident__{name}{suffix}"
                for name in Incident.markdown_fields
                for suffix in ("", "_html")
            ),
        )
        .annotate(
            # The isnull test keeps it two-valued: without it an undated open row would be NULL,
            # not False, and sort apart from the other rows that are not overdue.
            overdue=ExpressionWrapper(
                Q(due_date__isnull=False)
                & Q(due_date__lt=today)
                & Q(status__in=OPEN_ITEM_STATUSES),
                output_field=BooleanField(),
            )
        )
    )
    if statuses is not None:
        items = items.filter(status__in=statuses)
    if owner is not None:
        items = items.filter(owner=owner)
    if overdue:
        items = items.filter(status__in=OPEN_ITEM_STATUSES, due_date__lt=today)
    if due_between is not None:
        items = items.filter(due_date__range=due_between)
    if horizon:
        items = items.filter(horizon=horizon)
    if incident_number is not None:
        items = items.filter(incident__number=incident_number)
    if blocking:
        items = items.filter(blocks_deployments=True, status__in=OPEN_ITEM_STATUSES)
    if statuses is not None and set(statuses) <= set(OPEN_ITEM_STATUSES):
        # Every row is open, so the overdue ones are exactly those due before today, and an
        # order by due date puts them first already. Said that way, actionitem_open_due_idx
        # holds the order, and a page reads its rows off the index instead of sorting every
        # open item for today's `overdue`.
        return items.order_by(F("due_date").asc(nulls_last=True), "priority", "id")
    return items.order_by(F("overdue").desc(), F("due_date").asc(nulls_last=True), "priority", "id")


def action_item_step_ids(item: ActionItem) -> list[int]:
    """The ids of every step under `item`, at any depth; one query per level of nesting."""
    found: list[int] = []
    level = [item.pk]
    while level:
        level = list(ActionItem.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        found += level
    return found
