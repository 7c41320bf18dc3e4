"""Charts about the incidents themselves: how many, how fast, and what caused them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Count, F
from django.db.models.functions import TruncMonth

from incidents.insights.metrics.charts import Chart, Column, Kind, Series, monthly_chart
from incidents.insights.metrics.forms import Scope
from incidents.insights.metrics.percentiles import (
    NO_PERCENTILES,
    PERCENTILE_COLUMNS,
    monthly_percentiles,
)
from incidents.insights.metrics.selectors.common import as_date, incidents_in
from incidents.models import Cause, Severity

UNCATEGORISED = "Not categorised"
RANKED_ROWS = 10


def incidents_by_severity(scope: Scope, today: date) -> Chart:
    counts: dict[tuple[date, str], int] = defaultdict(int)
    rows = (
        incidents_in(scope)
        .order_by()
        .annotate(month=TruncMonth("started_at"))
        .values("month", "severity")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[as_date(row["month"]), row["severity"]] += row["n"]
    return monthly_chart(
        months=scope.months,
        columns=[Column(label, css=f"severity-{value}") for value, label in Severity.choices],
        row=lambda month: [counts[month, value] for value in Severity.values],
        name="incidents",
        title="Incidents per month by severity",
        description="How many incidents started each month, stacked by severity. A duplicate "
        "is counted once, as the incident it duplicates.",
        kind=Kind.STACKED,
        value_label="Incidents",
    )


def _timing(scope: Scope, *, name: str, field: str, title: str, description: str) -> Chart:
    by_month = monthly_percentiles(
        incidents_in(scope), month_field="started_at", duration=F(field) - F("started_at")
    )
    return monthly_chart(
        months=scope.months,
        columns=PERCENTILE_COLUMNS,
        row=lambda month: by_month.get(month, NO_PERCENTILES),
        name=name,
        title=title,
        description=description,
        kind=Kind.LINES,
        category_label="Month the incident started",
        value_label="Minutes",
        note="Incidents without this time recorded are left out; a month with none has no point.",
    )


def time_to_detect(scope: Scope, today: date) -> Chart:
    return _timing(
        scope,
        name="detect",
        field="detected_at",
        title="Time to detect",
        description="Minutes from the start of an incident to its detection, per month: the "
        "median incident and the slowest tenth (p90).",
    )


def time_to_mitigate(scope: Scope, today: date) -> Chart:
    return _timing(
        scope,
        name="mitigate",
        field="mitigated_at",
        title="Time to mitigate",
        description="Minutes from the start of an incident until its impact was stopped, per "
        "month: median and p90.",
    )


def time_to_resolve(scope: Scope, today: date) -> Chart:
    return _timing(
        scope,
        name="resolve",
        field="resolved_at",
        title="Time to resolve",
        description="Minutes from the start of an incident to its resolution, per month: median "
        "and p90.",
    )


def cause_categories(scope: Scope, today: date) -> Chart:
    rows = list(
        Cause.objects.filter(incident__in=incidents_in(scope), proposed=False)
        .order_by()
        .values("category")
        .annotate(n=Count("incident", distinct=True))
        .order_by("-n", "category")[:RANKED_ROWS]
    )
    labels = dict(Cause.Category.choices)
    return Chart(
        name="cause-categories",
        title="Top cause categories",
        description="How many incidents name a cause of each category (an incident with "
        "causes in two categories counts in both).",
        kind=Kind.RANKED,
        category_label="Category",
        value_label="Incidents",
        categories=[labels.get(row["category"], UNCATEGORISED) for row in rows],
        series=[Series("Incidents", [row["n"] for row in rows])],
    )
