"""Charts about what the team promised in its post-mortems and whether it was done."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone

from incidents.insights.metrics.charts import (
    Chart,
    Column,
    Figure,
    Kind,
    Series,
    monthly_chart,
    share,
)
from incidents.insights.metrics.forms import Scope
from incidents.insights.metrics.selectors.common import action_items_of, as_date
from incidents.models import ActionItem

RANKED_ROWS = 10
NOW_NOTE = "As of today: the date range does not apply; service and severity do."
NO_OWNER = "No owner"
# Age buckets of open items: (label, at least this many days old).
AGE_BUCKETS = (
    ("Under a week", 0),
    ("1 to 4 weeks", 7),
    ("1 to 3 months", 30),
    ("3 to 12 months", 90),
    ("Over a year", 365),
)


def items_created_and_completed(scope: Scope, today: date) -> Chart:
    items = action_items_of(scope).order_by()
    created = (
        items.filter(created_at__gte=scope.start_at, created_at__lt=scope.end_before)
        .annotate(month=TruncMonth("created_at"), what=Value("created"))
        .values("month", "what")
        .annotate(n=Count("id"))
    )
    completed = (
        items.filter(
            status=ActionItem.Status.DONE,
            done_at__gte=scope.start_at,
            done_at__lt=scope.end_before,
        )
        .annotate(month=TruncMonth("done_at"), what=Value("done"))
        .values("month", "what")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[date, str], int] = defaultdict(int)
    # One query: the two counts as a UNION ALL.
    for row in created.union(completed, all=True):
        counts[as_date(row["month"]), row["what"]] += row["n"]
    return monthly_chart(
        months=scope.months,
        columns=[Column("Created"), Column("Completed")],
        row=lambda month: [counts[month, "created"], counts[month, "done"]],
        name="items",
        title="Action items created and completed",
        description="Action items written into post-mortems each month, beside those marked "
        "done that month.",
        kind=Kind.BARS,
        value_label="Action items",
    )


def items_done_by_due_date(scope: Scope, today: date) -> Chart:
    # Only items whose due date has passed can have kept or missed it; "won't do" was a
    # decision, not a missed date, and leaves both sides.
    due = action_items_of(scope).filter(
        due_date__gte=scope.start, due_date__lte=min(scope.end, today - timedelta(days=1))
    )
    rows = (
        due.exclude(status=ActionItem.Status.WONT_DO)
        .order_by()
        .annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(
            total=Count("id"),
            on_time=Count(
                "id", filter=Q(status=ActionItem.Status.DONE, done_at__date__lte=F("due_date"))
            ),
        )
    )
    totals = {as_date(row["month"]): (row["total"], row["on_time"]) for row in rows}

    def row(month: date) -> list[Figure]:
        total, on_time = totals.get(month, (0, 0))
        return [share(on_time, total), total, on_time]

    return monthly_chart(
        months=scope.months,
        columns=[
            Column("Done on time (%)"),
            Column("Due", drawn=False),
            Column("Done on time", drawn=False),
        ],
        row=row,
        name="on-time",
        title="Action items done by their due date",
        description="Of the action items due each month, the share marked done on or before "
        "the due date. Items decided against (won't do) are left out.",
        kind=Kind.BARS,
        category_label="Month the item was due",
        value_label="Percent done on time",
    )


def open_item_age(scope: Scope, today: date) -> Chart:
    now = timezone.now()
    bounds = [now - timedelta(days=days) for _, days in AGE_BUCKETS] + [None]
    buckets = {}
    for i in range(len(AGE_BUCKETS)):
        condition = Q(created_at__lte=bounds[i])
        if bounds[i + 1] is not None:
            condition &= Q(created_at__gt=bounds[i + 1])
        buckets[f"b{i}"] = Count("id", filter=condition)
    counts = action_items_of(scope).filter(status__in=ActionItem.OPEN_STATUSES).aggregate(**buckets)
    return Chart(
        name="open-age",
        title="Age of open action items",
        description="Open and in-progress action items by how long ago they were written.",
        kind=Kind.BARS,
        category_label="Age",
        value_label="Open action items",
        categories=[label for label, _ in AGE_BUCKETS],
        series=[Series("Open items", [counts[f"b{i}"] for i in range(len(AGE_BUCKETS))])],
        note=NOW_NOTE,
    )


def _overdue(scope: Scope, today: date) -> QuerySet[ActionItem]:
    return (
        action_items_of(scope)
        .filter(status__in=ActionItem.OPEN_STATUSES, due_date__lt=today)
        .order_by()
    )


def _overdue_ranked(
    scope: Scope,
    today: date,
    *,
    by: str,
    empty: str,
    category_label: str,
    name: str,
    title: str,
    description: str,
) -> Chart:
    """Open items past their due date counted per value of `by`, most first; `empty` names the
    rows without one."""
    rows = list(
        _overdue(scope, today).values(by).annotate(n=Count("id")).order_by("-n", by)[:RANKED_ROWS]
    )
    return Chart(
        name=name,
        title=title,
        description=description,
        kind=Kind.RANKED,
        category_label=category_label,
        value_label="Overdue items",
        categories=[row[by] or empty for row in rows],
        series=[Series("Overdue items", [row["n"] for row in rows])],
        note=NOW_NOTE,
    )


def overdue_by_owner(scope: Scope, today: date) -> Chart:
    return _overdue_ranked(
        scope,
        today,
        by="owner__username",
        empty=NO_OWNER,
        category_label="Owner",
        name="overdue-owner",
        title="Overdue action items by owner",
        description="Open action items past their due date, per owner, most first.",
    )


def overdue_by_service(scope: Scope, today: date) -> Chart:
    return _overdue_ranked(
        scope,
        today,
        by="incident__service__name",
        empty="",  # every incident has a service
        category_label="Service",
        name="overdue-service",
        title="Overdue action items by service",
        description="Open action items past their due date, per service of their incident.",
    )
