"""Median and p90 of durations per month, computed by the database where it can.

PostgreSQL has percentile_cont, an ordered-set aggregate: the page asks it for every percentile
of every month in one GROUP BY. SQLite has no such aggregate; there the same query returns the
month's durations instead of their percentiles, and `percentile_cont` below interpolates them in
Python exactly as PostgreSQL does (linear between the two nearest ranks). Still one query per
chart; only the rows it returns grow with the data, which is why PostgreSQL is the production
database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, DurationField, Expression, F, QuerySet
from django.db.models.functions import TruncMonth

from incidents.insights.metrics.charts import Column

PERCENTILES = ((0.5, "Median"), (0.9, "p90"))
# The percentile charts' series, and a month without a duration (no point on either line).
PERCENTILE_COLUMNS = [Column(label) for _, label in PERCENTILES]
NO_PERCENTILES: list[float | None] = [None] * len(PERCENTILES)


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction is between 0 and 1.")
        # A float literal, never user input: the fractions are this module's constants.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """The percentile as PostgreSQL's percentile_cont computes it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


def _month(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def monthly_percentiles(
    queryset: QuerySet[Any], *, month_field: str, duration: Expression | F
) -> dict[date, list[float | None]]:
    """{month: [median minutes, p90 minutes]} of `duration` over `queryset`, by `month_field`.

    Rows whose duration is null (no detection recorded, no rollback) do not count.
    """
    by_month = queryset.annotate(
        metric_month=TruncMonth(month_field),
        metric_duration=duration,
    ).filter(metric_duration__isnull=False)
    if connection.vendor == "postgresql":
        rows = (
            by_month.order_by()
            .values("metric_month")
            .annotate(
                **{
                    f"p{i}": PercentileCont(F("metric_duration"), fraction=fraction)
                    for i, (fraction, _) in enumerate(PERCENTILES)
                }
            )
        )
        return {
            _month(row["metric_month"]): [_minutes(row[f"p{i}"]) for i in range(len(PERCENTILES))]
            for row in rows
        }
    return monthly_percentiles_in_python(
        by_month.order_by().values_list("metric_month", "metric_duration")
    )


def monthly_percentiles_in_python(
    rows: Iterable[tuple[Any, timedelta]],
) -> dict[date, list[float | None]]:
    """The SQLite path: {month: [median, p90]} in minutes from (month, duration) rows."""
    durations: dict[date, list[float]] = defaultdict(list)
    for month, value in rows:
        durations[_month(month)].append(value.total_seconds() / 60)
    return {
        month: [percentile_cont(values, fraction) for fraction, _ in PERCENTILES]
        for month, values in durations.items()
    }
