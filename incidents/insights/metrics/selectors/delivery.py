"""Charts where incidents meet what shipped: failed changes, rollbacks, gate blocks and checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth, TruncWeek

from deployments.models import CheckResultHourly, Deployment, Environment, GateRule, GateRun
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
from incidents.insights.metrics.percentiles import (
    NO_PERCENTILES,
    PERCENTILE_COLUMNS,
    monthly_percentiles,
)
from incidents.insights.metrics.selectors.common import as_date, incidents_in
from incidents.models import Cause, TimelineEvent

RANKED_ROWS = 10
SCOPE_NOTE = "Severity does not apply to this chart; service and dates do."


def production_deployments(scope: Scope) -> QuerySet[Deployment]:
    """Changes shipped to production in the range. A rollback is not a change of its own: it
    undoes one, so it is left out of both sides of the rate."""
    deployments = Deployment.objects.filter(
        environment__kind=Environment.Kind.PRODUCTION,
        rollback_of__isnull=True,
        started_at__gte=scope.start_at,
        started_at__lt=scope.end_before,
    )
    if scope.service is not None:
        deployments = deployments.filter(environment__service=scope.service)
    return deployments


def change_failure_rate(scope: Scope, today: date) -> Chart:
    # Named as a cause by a person ("Mark as cause", or a cause row naming it): a deployment
    # that merely came before an incident is not a failure, and a draft's proposal not yet kept
    # is no one's word. The deployments named are read once (a few, through
    # cause_named_deployment_idx) rather than asked of each deployment: an EXISTS per row read
    # every cause of the history.
    named = Cause.objects.filter(
        deployment__isnull=False, proposed=False, incident__duplicate_of__isnull=True
    )
    if scope.severity:
        named = named.filter(incident__severity=scope.severity)
    rows = (
        production_deployments(scope)
        .order_by()
        .annotate(month=TruncMonth("started_at"))
        .values("month")
        .annotate(
            total=Count("id"),
            failed=Count("id", filter=Q(pk__in=named.values("deployment_id"))),
        )
    )
    totals = {as_date(row["month"]): (row["total"], row["failed"]) for row in rows}

    def row(month: date) -> list[Figure]:
        total, failed = totals.get(month, (0, 0))
        return [share(failed, total), total, failed]

    return monthly_chart(
        months=scope.months,
        columns=[
            Column("Failure rate (%)"),
            Column("Deployments", drawn=False),
            Column("Named as a cause", drawn=False),
        ],
        row=row,
        name="change-failure-rate",
        title="Change failure rate",
        description="The share of production deployments that an incident names as its cause, "
        "per month the deployment started.",
        kind=Kind.BARS,
        value_label="Percent of deployments",
        note="Severity counts only the incidents that name a deployment; rollbacks are not "
        "counted as deployments.",
    )


def detection_to_rollback(scope: Scope, today: date) -> Chart:
    # The first rollback on the incident's timeline: deployments write it there themselves
    # (incidents.system.services.timeline_rollback_add), and people can add one by hand.
    first_rollback = (
        TimelineEvent.objects.filter(incident=OuterRef("pk"), kind=TimelineEvent.Kind.ROLLBACK)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    incidents = incidents_in(scope).annotate(rolled_back_at=Subquery(first_rollback))
    by_month = monthly_percentiles(
        incidents,
        month_field="started_at",
        duration=ExpressionWrapper(
            F("rolled_back_at") - F("detected_at"), output_field=DurationField()
        ),
    )
    return monthly_chart(
        months=scope.months,
        columns=PERCENTILE_COLUMNS,
        row=lambda month: by_month.get(month, NO_PERCENTILES),
        name="rollback",
        title="Time from detection to rollback",
        description="Minutes from detecting an incident to the first rollback on its timeline, "
        "per month: median and p90, for incidents that were rolled back.",
        kind=Kind.LINES,
        category_label="Month the incident started",
        value_label="Minutes",
    )


def deployments_per_week(scope: Scope, today: date) -> Chart:
    rows = (
        production_deployments(scope)
        .order_by()
        .annotate(week=TruncWeek("started_at"))
        .values("week")
        .annotate(n=Count("id"))
    )
    counts = {as_date(row["week"]): row["n"] for row in rows}
    weeks = scope.weeks
    return Chart(
        name="deployments",
        title="Production deployments per week",
        description="How many deployments to production started each week (weeks start on "
        "Monday; rollbacks are not counted).",
        kind=Kind.BARS,
        category_label="Week",
        value_label="Deployments",
        categories=[week.isoformat() for week in weeks],
        series=[Series("Deployments", [counts.get(w, 0) for w in weeks])],
        note=SCOPE_NOTE,
    )


def _blocked_runs(scope: Scope) -> QuerySet[GateRun]:
    runs = GateRun.objects.filter(
        verdict=GateRun.Verdict.BLOCK,
        created_at__gte=scope.start_at,
        created_at__lt=scope.end_before,
    )
    if scope.service is not None:
        runs = runs.filter(service=scope.service)
    return runs.order_by()


def _blocks_by_rule(scope: Scope) -> dict[tuple[date, str], int]:
    """{(month, rule kind): blocked answers} where that rule was among the blocking reasons."""
    counts: dict[tuple[date, str], int] = defaultdict(int)
    runs = _blocked_runs(scope).annotate(month=TruncMonth("created_at"))
    if connection.vendor == "postgresql":
        # The reasons are a JSON list; jsonb containment asks for a blocking entry of the rule.
        by_kind = {
            kind: Count("id", filter=Q(reasons__contains=[{"rule": kind, "outcome": "block"}]))
            for kind in GateRule.Kind.values
        }
        # The annotation names come from the kinds, which the stubs' typed rows cannot know.
        rows = cast("Iterable[dict[str, Any]]", runs.values("month").annotate(**by_kind))
        for row in rows:
            for kind in GateRule.Kind.values:
                counts[as_date(row["month"]), kind] += row[kind]
        return counts
    # SQLite has no JSON containment: the same one query returns the blocked answers' reasons,
    # counted here.
    for month, reasons in runs.values_list("month", "reasons"):
        for kind in {r.get("rule") for r in reasons if r.get("outcome") == "block"}:
            counts[as_date(month), kind] += 1
    return counts


def near_misses(scope: Scope, today: date) -> Chart:
    counts = _blocks_by_rule(scope)
    return monthly_chart(
        months=scope.months,
        columns=[Column(label) for label in GateRule.Kind.labels],
        row=lambda month: [counts[month, kind] for kind in GateRule.Kind.values],
        name="near-misses",
        title="Near misses: deployments the gate blocked",
        description="How many times the deployment gate refused a deployment each month, by "
        "the rule that blocked it. An answer blocked by two rules counts under both.",
        kind=Kind.STACKED,
        value_label="Blocked answers",
        note=SCOPE_NOTE,
    )


def failing_checks(scope: Scope, today: date) -> Chart:
    # Only the hours with a failure (an hour without adds nothing): a few among the years of
    # healthy hours, through hourly_failing_idx.
    hours = CheckResultHourly.objects.filter(
        ok_count__lt=F("samples"), hour__gte=scope.start_at, hour__lt=scope.end_before
    )
    if scope.service is not None:
        hours = hours.filter(service=scope.service)
    rows = list(
        hours.order_by()
        .values("health_check__name", "service__name")
        .annotate(failures=Sum(F("samples") - F("ok_count")))
        .filter(failures__gt=0)
        .order_by("-failures", "service__name", "health_check__name")[:RANKED_ROWS]
    )
    return Chart(
        name="failing-checks",
        title="Checks that fail most",
        description="Failed health check results in the range, per check (results during "
        "maintenance windows are not failures).",
        kind=Kind.RANKED,
        category_label="Check",
        value_label="Failed results",
        categories=[f"{row['service__name']} · {row['health_check__name']}" for row in rows],
        series=[Series("Failed results", [row["failures"] for row in rows])],
        note=SCOPE_NOTE + " Counted from the hourly roll-ups.",
    )
