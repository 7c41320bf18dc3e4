"""Query budgets at 100 and at 10,000 incidents (issue 19): the metrics page (as it opens, and
filtered), the similar-incidents panel, the daily digest run and the weekly summary run make the
same number of queries at both sizes; and at 10,000 the figures are the ones the history holds,
computed again from its plan without the database.

The history (tests/incidents/metrics/history.py) is built once for the module, in bulk, inside a
transaction rolled back at its end: measured at 100 incidents, grown to 10,000, measured again.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import time_machine
from celery import current_app
from django.core import mail
from django.db import connection, transaction
from django.test import Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from incidents.insights.metrics.charts import format_figure
from incidents.insights.metrics.forms import default_scope
from incidents.insights.metrics.percentiles import percentile_cont
from incidents.insights.metrics.selectors import CHARTS
from incidents.insights.recurrence import selectors as recurrence
from incidents.insights.reminders import services as reminders
from incidents.models import ActionItem, Cause, Incident, Reminder, Severity
from tests.factories import user_with_role
from tests.incidents.metrics.history import History, history_grow, history_start
from tests.incidents.metrics.plan import (
    NOW,
    PAST_NUMBERS,
    PEOPLE,
    RULES,
    SEVERE_UNPUBLISHED,
    STUCK_IN_REVIEW,
    THEMES,
    Past,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    # One worker builds the history once for all of them.
    pytest.mark.xdist_group("metrics-at-scale"),
]

SMALL, BIG = 100, 10_000
# The session and the user, the user's permissions, the service choices, and one per chart.
PAGE_QUERIES = 2 + 2 + 1 + len(CHARTS)
TODAY = NOW.date()
FILTERED = {"severity": Severity.SEV2, "date_from": "2023-06-01", "date_to": "2025-12-31"}


@dataclass
class Scale:
    history: History
    client: Client
    queries: dict[int, dict[str, int]]  # size: {what was measured: queries}


def _counted(work: Callable[[], None], then: Callable[[], None] = lambda: None) -> int:
    """The queries `work` makes, with what it leaves for after commit (the outbox's sends),
    inside a savepoint rolled back, so each measure starts from the same history; `then`
    checks what it did before the rollback."""
    with transaction.atomic():
        with (
            CaptureQueriesContext(connection) as queries,
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            work()
        then()
        transaction.set_rollback(True)
    return len(queries)


def _get(client: Client, url: str, **params: str) -> Callable[[], None]:
    def work() -> None:
        response = client.get(url, params, HTTP_HX_REQUEST="true")
        assert response.status_code == 200

    return work


def _reminders_run(history: History, *, summaries: bool) -> int:
    weekday = TODAY.weekday() if summaries else (TODAY.weekday() + 1) % 7

    def work() -> None:
        mail.outbox.clear()
        with override_settings(HINDSIGHT_SUMMARY_WEEKDAY=weekday):
            assert reminders.reminders_due(now=NOW) == PEOPLE + summaries

    def sent() -> None:
        assert len(mail.outbox) == PEOPLE + summaries
        if summaries:
            (summary,) = [m for m in mail.outbox if m.to == [history.admin.email]]
            blocking = sum(1 for p in history.past if p.blocks_deployments)
            assert summary.subject.endswith(
                f": {blocking} blocking items, {STUCK_IN_REVIEW} stuck reviews, "
                f"{SEVERE_UNPUBLISHED} unpublished post-mortems"
            )

    return _counted(work, sent)


def _measure(history: History, client: Client) -> dict[str, int]:
    service = history.services[1].slug
    panel = reverse("incidents:similar_panel", args=[history.current.reference])
    return {
        "metrics page": _counted(_get(client, reverse("incidents:metrics"))),
        "metrics page, filtered": _counted(
            _get(client, reverse("incidents:metrics"), service=service, **FILTERED)
        ),
        "similar incidents panel": _counted(_get(client, panel)),
        "daily digest run": _reminders_run(history, summaries=False),
        "weekly summary run": _reminders_run(history, summaries=True),
    }


@pytest.fixture(scope="module")
def scale(django_db_setup, django_db_blocker) -> Iterator[Scale]:
    eager = current_app.conf.task_always_eager
    # No broker: the outbox's publish after commit sends the reminder right here.
    current_app.conf.task_always_eager = True
    try:
        # Frozen for the module's tests too: the figures are counted from NOW.
        with (
            time_machine.travel(NOW, tick=False),
            override_settings(HINDSIGHT_DIGEST_HOUR=NOW.hour, HINDSIGHT_BASE_URL="https://h.test"),
            django_db_blocker.unblock(),
            transaction.atomic(),
        ):
            history = history_start()
            client = Client()
            client.force_login(user_with_role(Role.VIEWER))
            queries = {}
            for size in (SMALL, BIG):
                history_grow(history, to=size)
                assert Incident.objects.count() == size
                queries[size] = _measure(history, client)
            yield Scale(history=history, client=client, queries=queries)
            transaction.set_rollback(True)
    finally:
        current_app.conf.task_always_eager = eager


MEASURED = (
    "metrics page",
    "metrics page, filtered",
    "similar incidents panel",
    "daily digest run",
    "weekly summary run",
)


@pytest.mark.parametrize("what", MEASURED)
def test_it_makes_the_same_number_of_queries_at_100_and_at_10000_incidents(scale, what):
    assert scale.queries[SMALL][what] == scale.queries[BIG][what], scale.queries


def test_the_metrics_page_is_one_query_per_chart_at_both_sizes(scale):
    for size in (SMALL, BIG):
        assert scale.queries[size]["metrics page"] == PAGE_QUERIES
        # And the service chosen, looked up by its slug.
        assert scale.queries[size]["metrics page, filtered"] == PAGE_QUERIES + 1


# --- the answers at 10,000 --------------------------------------------------------------------


def figures(client: Client, chart: str, **params: str) -> dict[str, list[str]]:
    response = client.get(reverse("incidents:metrics"), {**params, "format": "csv", "chart": chart})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    return {row[0]: row[1:] for row in rows[1:]}


def month(moment: date) -> str:
    return f"{moment:%Y-%m}"


def in_default_range(scale: Scale) -> list[Past]:
    scope = default_scope(TODAY)
    return [p for p in scale.history.past if scope.start_at <= p.started_at < scope.end_before]


def test_at_10000_the_incidents_per_month_by_severity_are_the_plan_s(scale):
    expected: Counter[tuple[str, str]] = Counter(
        (month(p.started_at), p.severity) for p in in_default_range(scale)
    )
    # The incidents that do not grow: the open one, those stuck in review, the unpublished.
    for incident in Incident.objects.filter(number__lt=PAST_NUMBERS):
        expected[month(incident.started_at), incident.severity] += 1
    shown = figures(scale.client, "incidents")
    assert len(shown) == 13
    for label, counts in shown.items():
        assert counts == [str(expected[label, s]) for s in Severity.values], label
    assert sum(expected.values()) > 1900  # a fifth of five years


def test_at_10000_the_filtered_page_counts_one_service_and_severity_in_the_dates(scale):
    service = 1
    start, end = date.fromisoformat(FILTERED["date_from"]), date.fromisoformat(FILTERED["date_to"])
    wanted = [
        p
        for p in scale.history.past
        if p.service == service
        and p.severity == Severity.SEV2
        and start <= p.started_at.date() <= end
    ]
    shown = figures(
        scale.client, "incidents", service=scale.history.services[service].slug, **FILTERED
    )
    assert sum(int(counts[1]) for counts in shown.values()) == len(wanted) > 100
    assert all(counts[0] == counts[2] == counts[3] == "0" for counts in shown.values())


def test_at_10000_time_to_detect_is_the_median_and_p90_of_the_plan(scale):
    minutes: dict[str, list[float]] = {}
    for p in in_default_range(scale):
        minutes.setdefault(month(p.started_at), []).append(p.detect_minutes)
    minutes.setdefault(month(TODAY), []).append(10)  # the open incident, detected in 10 minutes
    for label, values in figures(scale.client, "detect").items():
        median, p90 = (percentile_cont(minutes[label], f) for f in (0.5, 0.9))
        assert values == [format_figure(median), format_figure(p90)], label


def test_at_10000_the_change_failure_rate_counts_the_confirmed_causes(scale):
    scope = default_scope(TODAY)
    # Two deployments before each incident, the later one named when the cause was confirmed;
    # rollbacks are not deployments.
    deployments: Counter[str] = Counter()
    named: Counter[str] = Counter()
    for p in scale.history.past:
        for before, is_cause in ((timedelta(days=1), False), (timedelta(minutes=30), p.confirmed)):
            at = p.started_at - before
            if scope.start_at <= at < scope.end_before:
                deployments[month(at)] += 1
                named[month(at)] += is_cause
    for label, (_, total, failed) in figures(scale.client, "change-failure-rate").items():
        assert (int(total), int(failed)) == (deployments[label], named[label]), label
    assert sum(named.values()) > 600


def test_at_10000_near_misses_count_each_blocking_rule(scale):
    scope = default_scope(TODAY)
    expected = Counter(
        rule
        for p in scale.history.past
        if scope.start_at <= p.started_at - timedelta(minutes=40) < scope.end_before
        for rule in p.blocked_rules
    )
    shown = figures(scale.client, "near-misses")
    totals = [sum(int(counts[n]) for counts in shown.values()) for n in range(len(RULES))]
    assert totals == [expected[rule] for rule in RULES]


def test_at_10000_the_failing_checks_sum_the_failed_samples_of_the_plan(scale):
    failed: Counter[int] = Counter()
    for p in in_default_range(scale):
        failed[p.service] += p.failed_samples
    failed[0] += 60  # the open incident's hour
    services = scale.history.services
    expected = {f"{services[s].name} · Home": [str(n)] for s, n in failed.items()}
    assert figures(scale.client, "failing-checks") == expected


def test_at_10000_follow_through_counts_the_plan_s_items(scale):
    scope = default_scope(TODAY)
    created = sum(3 for p in in_default_range(scale))
    done = sum(1 for p in scale.history.past if scope.start_at <= p.done_at < scope.end_before)
    shown = figures(scale.client, "items")
    assert sum(int(c[0]) for c in shown.values()) == created
    assert sum(int(c[1]) for c in shown.values()) == done
    # Overdue: every open "Fix the cause" item past its date (a week after the done one's).
    overdue = Counter(
        f"owner-{(p.index + 1) % PEOPLE}"
        for p in scale.history.past
        if p.due + timedelta(days=7) < TODAY
    )
    assert figures(scale.client, "overdue-owner") == {
        name: [str(n)] for name, n in sorted(overdue.items(), key=lambda kv: (-kv[1], kv[0]))
    }


def test_at_10000_the_panel_shows_earlier_incidents_alike_with_their_open_items(scale):
    current = scale.history.current
    response = scale.client.get(
        reverse("incidents:similar_panel", args=[current.reference]), HTTP_HX_REQUEST="true"
    )
    similar = response.context["similar"]
    assert len(similar) == 5
    for found in similar:
        assert found.incident.started_at < current.started_at
        assert found.reasons, found
        open_items = ActionItem.objects.filter(
            incident=found.incident, status__in=ActionItem.OPEN_STATUSES
        ).count()
        assert found.open_count == open_items
    # Each reason holds of the incident's plan.
    plan = {PAST_NUMBERS + p.index: p for p in scale.history.past}
    newest_of_service = sorted(
        (p for p in scale.history.past if p.service == 0), key=lambda p: p.started_at
    )[-recurrence.SIMILAR_SHOWN :]
    for found in similar:
        p = plan[found.incident.number]
        if found.same_checks:
            assert p in newest_of_service
        if found.same_category:
            assert (p.service, p.category) == (0, Cause.Category.CAPACITY)
        if found.category_elsewhere:
            assert p.service != 0
            assert p.category == Cause.Category.CAPACITY
        if found.close_text:
            assert found.incident.title.startswith(THEMES[0])
    # Alike in more ways first.
    assert [s.score for s in similar] == sorted((s.score for s in similar), reverse=True)
    assert similar[0].score >= 2


def test_at_10000_the_digest_lists_each_owner_s_due_and_overdue_items(
    scale, django_capture_on_commit_callbacks
):
    with (
        override_settings(HINDSIGHT_SUMMARY_WEEKDAY=(TODAY.weekday() + 1) % 7),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reminders.reminders_due(now=NOW) == PEOPLE
    soon = TODAY + timedelta(days=3)
    due = Counter(
        f"owner-{(p.index + 1) % PEOPLE}"
        for p in scale.history.past
        if p.due + timedelta(days=7) <= soon
    )
    listed = dict(
        Reminder.objects.filter(kind=Reminder.Kind.DIGEST).values_list("person__username", "listed")
    )
    assert listed == dict(due)
