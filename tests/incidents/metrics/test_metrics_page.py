"""The metrics page: who may see it, its filters, each chart's figures on crafted data, and a
query count that does not grow with the history."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from deployments.models import CheckResultHourly, Environment, GateRun, Service
from incidents.insights.metrics import percentiles
from incidents.insights.metrics.forms import Scope
from incidents.insights.metrics.percentiles import (
    monthly_percentiles,
    monthly_percentiles_in_python,
)
from incidents.insights.metrics.selectors import CHARTS, delivery
from incidents.insights.metrics.selectors.common import incidents_in
from incidents.models import ActionItem, Cause, Incident, Severity, TimelineEvent
from tests.factories import (
    ActionItemFactory,
    CauseFactory,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    IncidentFactory,
    ServiceFactory,
    TimelineEventFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
# The page's queries: the session and the user, the user's permissions (whether to show edit
# controls, for every page), the service choices, and one per chart.
PAGE_QUERIES = 2 + 2 + 1 + len(CHARTS)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def viewer(client):
    client.force_login(user_with_role(Role.VIEWER))
    return client


def figures(client, chart: str, **params: str) -> dict[str, list[str]]:
    """The chart's CSV as {first column: the other columns}."""
    response = client.get(reverse("incidents:metrics"), {**params, "format": "csv", "chart": chart})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    return {row[0]: row[1:] for row in rows[1:]}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


class TestAccessAndFilters:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(reverse("incidents:metrics"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_the_page_is_in_the_navigation_and_lit_when_shown(self, viewer):
        html = viewer.get(reverse("incidents:metrics")).content.decode()
        assert '<a href="/metrics/" aria-current="page">Metrics</a>' in html

    def test_by_default_it_covers_the_last_twelve_months_and_this_one(self, viewer):
        months = list(figures(viewer, "incidents"))
        assert months[0] == "2025-03"
        assert months[-1] == "2026-03"
        assert len(months) == 13

    def test_a_date_range_chooses_the_months(self, viewer):
        months = figures(viewer, "incidents", date_from="2025-11-15", date_to="2026-01-02")
        assert list(months) == ["2025-11", "2025-12", "2026-01"]

    def test_a_to_date_before_the_from_date_is_shown_beside_the_field_and_no_chart(self, viewer):
        response = viewer.get(
            reverse("incidents:metrics"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert 'id="id_date_to_error"' in html
        assert "This date is before the “from” date." in html
        assert "<svg" not in html

    def test_an_unknown_severity_is_refused_beside_its_field(self, viewer):
        html = viewer.get(reverse("incidents:metrics"), {"severity": "sev9"}).content.decode()
        assert 'id="id_severity_error"' in html
        assert "<svg" not in html

    def test_a_csv_of_filters_that_do_not_validate_is_refused(self, viewer):
        response = viewer.get(
            reverse("incidents:metrics"),
            {"format": "csv", "chart": "incidents", "date_from": "yesterday"},
        )
        assert response.status_code == 400

    def test_an_unknown_chart_has_no_csv(self, viewer):
        response = viewer.get(reverse("incidents:metrics"), {"format": "csv", "chart": "nope"})
        assert response.status_code == 404

    def test_the_page_draws_every_chart_with_a_table_and_a_csv_link(self, viewer):
        world(size=2)
        html = viewer.get(reverse("incidents:metrics")).content.decode()
        for name in CHARTS:
            assert f'id="chart-{name}"' in html
            assert f"format=csv&amp;chart={name}" in html
        assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') >= 10
        assert html.count('<details class="metric-table">') == len(CHARTS)
        assert "style=" not in html.split("<main", 1)[1]


class TestIncidentCharts:
    def test_incidents_are_counted_per_month_by_severity_and_a_duplicate_once(self, viewer):
        service = ServiceFactory()
        first = IncidentFactory(service=service, severity=Severity.SEV1, started_at=FEB)
        IncidentFactory(service=service, severity=Severity.SEV3, started_at=FEB + minutes(60))
        IncidentFactory(severity=Severity.SEV3, started_at=FEB + minutes(90), duplicate_of=first)
        IncidentFactory(severity=Severity.SEV1, started_at=FEB - timedelta(days=10))
        assert figures(viewer, "incidents")["2026-02"] == ["1", "0", "1", "0"]
        assert figures(viewer, "incidents")["2026-01"] == ["1", "0", "0", "0"]
        only = figures(viewer, "incidents", service=service.slug, severity="sev3")
        assert only["2026-02"] == ["0", "0", "1", "0"]
        assert only["2026-01"] == ["0", "0", "0", "0"]

    def test_time_to_detect_is_the_median_and_p90_of_each_month(self, viewer):
        for n in (2, 4, 6, 8, 100):
            IncidentFactory(started_at=FEB, detected_at=FEB + minutes(n))
        IncidentFactory(started_at=FEB)  # never detected: no time to count
        times = figures(viewer, "detect")
        # p90 of five: position 3.6 between 8 and 100, as percentile_cont interpolates.
        assert times["2026-02"] == ["6", "63.2"]
        assert times["2026-01"] == ["", ""]

    def test_mitigate_and_resolve_are_measured_from_the_start(self, viewer):
        IncidentFactory(
            started_at=FEB, mitigated_at=FEB + minutes(30), resolved_at=FEB + minutes(90)
        )
        assert figures(viewer, "mitigate")["2026-02"] == ["30", "30"]
        assert figures(viewer, "resolve")["2026-02"] == ["90", "90"]

    def test_the_database_and_the_sqlite_fallback_give_the_same_percentiles(self):
        for i in range(40):
            start = FEB + timedelta(days=i % 50, hours=i)
            IncidentFactory(started_at=start, detected_at=start + minutes((i * 37) % 91 + 0.5))
        scope = Scope(start=date(2026, 1, 1), end=date(2026, 3, 31))
        duration = F("detected_at") - F("started_at")
        incidents = incidents_in(scope)
        answer = monthly_percentiles(incidents, month_field="started_at", duration=duration)
        rows = (
            incidents.exclude(detected_at=None).annotate(d=duration).values_list("started_at", "d")
        )
        by_python = monthly_percentiles_in_python(
            (start.replace(day=1).date(), d) for start, d in rows
        )
        assert answer.keys() == by_python.keys()
        for month, values in answer.items():
            assert values == pytest.approx(by_python[month])

    def test_cause_categories_count_incidents_and_leave_proposals_out(self, viewer):
        one, two = IncidentFactory(started_at=FEB), IncidentFactory(started_at=FEB)
        CauseFactory(incident=one, category=Cause.Category.CODE)
        CauseFactory(incident=one, category=Cause.Category.CODE)
        CauseFactory(incident=one, category=Cause.Category.DATA)
        CauseFactory(incident=two, category=Cause.Category.CODE)
        CauseFactory(incident=two, category="")
        CauseFactory(incident=two, category=Cause.Category.CAPACITY, proposed=True)
        assert figures(viewer, "cause-categories") == {
            "Code defect": ["2"],
            "Data": ["1"],
            "Not categorised": ["1"],
        }


class TestDeliveryCharts:
    def test_change_failure_rate_counts_production_deployments_a_person_named(self, viewer):
        production = EnvironmentFactory()
        preview = EnvironmentFactory(
            service=production.service, name="preview", kind=Environment.Kind.PREVIEW
        )
        named, proposed, _, _ = [
            DeploymentFactory(environment=production, started_at=FEB + minutes(i)) for i in range(4)
        ]
        DeploymentFactory(environment=production, started_at=FEB + minutes(9), rollback_of=named)
        on_preview = DeploymentFactory(environment=preview, started_at=FEB)
        incident = IncidentFactory(service=production.service, started_at=FEB + minutes(5))
        CauseFactory(incident=incident, deployment=named, kind=Cause.Kind.TRIGGER)
        CauseFactory(incident=incident, deployment=proposed, proposed=True)
        CauseFactory(incident=incident, deployment=on_preview)
        # Failure rate (%), deployments, named as a cause: the rollback is not a deployment.
        assert figures(viewer, "change-failure-rate")["2026-02"] == ["25", "4", "1"]
        assert figures(viewer, "change-failure-rate", severity="sev1")["2026-02"] == ["0", "4", "0"]
        assert figures(viewer, "change-failure-rate")["2026-01"] == ["", "0", "0"]
        assert figures(viewer, "deployments")["2026-02-02"] == ["4"]

    def test_detection_to_rollback_takes_the_first_rollback_on_the_timeline(self, viewer):
        incident = IncidentFactory(started_at=FEB, detected_at=FEB + minutes(5))
        for after in (15, 45):
            TimelineEventFactory(
                incident=incident,
                kind=TimelineEvent.Kind.ROLLBACK,
                occurred_at=FEB + minutes(after),
            )
        IncidentFactory(started_at=FEB, detected_at=FEB)  # not rolled back: not counted
        assert figures(viewer, "rollback")["2026-02"] == ["10", "10"]

    def test_near_misses_count_blocked_answers_by_each_rule_that_blocked(self, viewer):
        environment = EnvironmentFactory()

        def run(verdict: str, *reasons: tuple[str, str]) -> None:
            made = GateRun.objects.create(
                service=environment.service,
                environment=environment,
                commit_sha="a" * 40,
                verdict=verdict,
                reasons=[{"rule": rule, "outcome": outcome} for rule, outcome in reasons],
            )
            GateRun.objects.filter(pk=made.pk).update(created_at=FEB)

        run("block", ("required_artifact", "block"), ("stale_build", "warn"))
        run("block", ("preview_first", "block"), ("required_artifact", "block"))
        run("pass", ("required_artifact", "pass"))
        # Required artifact, stale build, preview first, blocking items, health.
        assert figures(viewer, "near-misses")["2026-02"] == ["2", "0", "1", "0", "0"]

    def test_the_checks_that_fail_most_come_first(self, viewer):
        service = ServiceFactory(name="Shop")
        home = HealthCheckFactory(service=service, name="Home")
        api = HealthCheckFactory(service=service, name="API")
        for hour, check, ok in ((0, home, 50), (1, home, 55), (0, api, 40), (2, api, 60)):
            CheckResultHourly.objects.create(
                health_check=check,
                service=service,
                hour=FEB + timedelta(hours=hour),
                samples=60,
                ok_count=ok,
            )
        assert figures(viewer, "failing-checks") == {"Shop · API": ["20"], "Shop · Home": ["15"]}


class TestFollowThrough:
    def test_items_created_and_completed_count_in_their_own_months(self, viewer):
        done = ActionItemFactory(status=ActionItem.Status.DONE, done_at=NOW - timedelta(days=2))
        ActionItemFactory()
        ActionItem.objects.filter(pk=done.pk).update(created_at=FEB)
        counts = figures(viewer, "items")
        assert counts["2026-02"] == ["1", "0"]
        assert counts["2026-03"] == ["1", "1"]

    def test_the_share_done_by_the_due_date_leaves_won_t_do_and_future_dates_out(self, viewer):
        def item(due: date, **fields) -> None:
            ActionItemFactory(due_date=due, **fields)

        item(date(2026, 2, 10), status="done", done_at=datetime(2026, 2, 9, 9, tzinfo=UTC))
        item(date(2026, 2, 12), status="done", done_at=datetime(2026, 2, 20, 9, tzinfo=UTC))
        item(date(2026, 2, 15))
        item(date(2026, 2, 16), status=ActionItem.Status.WONT_DO)
        item(date(2026, 3, 20))  # not due yet
        # Done on time (%), due, done on time.
        assert figures(viewer, "on-time")["2026-02"] == ["33.3", "3", "1"]
        assert figures(viewer, "on-time")["2026-03"] == ["", "0", "0"]

    def test_overdue_items_are_ranked_by_owner_and_by_service(self, viewer):
        ada = UserFactory(username="ada")
        shop = IncidentFactory(service=ServiceFactory(name="Shop"))
        mail = IncidentFactory(service=ServiceFactory(name="Mail"))
        yesterday = NOW.date() - timedelta(days=1)
        ActionItemFactory(incident=shop, owner=ada, due_date=yesterday)
        ActionItemFactory(incident=shop, owner=ada, due_date=yesterday, status="in_progress")
        ActionItemFactory(incident=mail, due_date=yesterday)
        ActionItemFactory(incident=mail, owner=ada, due_date=NOW.date())  # due today: not late
        ActionItemFactory(incident=mail, owner=ada, due_date=yesterday, status="wont_do")
        assert figures(viewer, "overdue-owner") == {"ada": ["2"], "No owner": ["1"]}
        assert figures(viewer, "overdue-service") == {"Shop": ["2"], "Mail": ["1"]}
        assert figures(viewer, "overdue-service", service=mail.service.slug) == {"Mail": ["1"]}

    def test_open_items_are_bucketed_by_age(self, viewer):
        for days in (1, 10, 10, 400):
            item = ActionItemFactory()
            ActionItem.objects.filter(pk=item.pk).update(created_at=NOW - timedelta(days=days))
        ActionItemFactory(status=ActionItem.Status.DONE, done_at=NOW)
        assert figures(viewer, "open-age") == {
            "Under a week": ["1"],
            "1 to 4 weeks": ["2"],
            "1 to 3 months": ["0"],
            "3 to 12 months": ["0"],
            "Over a year": ["1"],
        }


def world(*, size: int) -> Service:
    """`size` incidents of one service with everything every chart counts."""
    production = EnvironmentFactory()
    service = production.service
    check = HealthCheckFactory(service=service, environment=production)
    owner = UserFactory()
    for i in range(size):
        start = NOW - timedelta(days=3 + i * 5)
        deployment = DeploymentFactory(environment=production, started_at=start - minutes(30))
        incident = IncidentFactory(
            service=service,
            severity=Severity.values[i % 4],
            started_at=start,
            detected_at=start + minutes(i % 7 + 1),
            mitigated_at=start + minutes(20),
            resolved_at=start + minutes(60),
        )
        CauseFactory(incident=incident, deployment=deployment, category=Cause.Category.CHANGE)
        TimelineEventFactory(
            incident=incident, kind=TimelineEvent.Kind.ROLLBACK, occurred_at=start + minutes(12)
        )
        ActionItemFactory(incident=incident, owner=owner, due_date=start.date())
        ActionItemFactory(
            incident=incident, owner=owner, due_date=start.date(), status="done", done_at=start
        )
        GateRun.objects.create(
            service=service,
            environment=production,
            commit_sha="b" * 40,
            verdict="block",
            reasons=[{"rule": "stale_build", "outcome": "block"}],
        )
        CheckResultHourly.objects.create(
            health_check=check, service=service, hour=start, samples=60, ok_count=30
        )
    return service


def page_queries(client, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("incidents:metrics"), params)
    assert response.status_code == 200
    return len(queries)


def test_the_page_makes_the_same_number_of_queries_for_few_and_many_incidents(viewer):
    service = world(size=2)
    assert Incident.objects.count() == 2
    few = page_queries(viewer)
    few_filtered = page_queries(viewer, service=service.slug, severity="sev2")
    world(size=60)
    assert Incident.objects.count() == 62
    assert few == PAGE_QUERIES
    assert page_queries(viewer) == few
    assert page_queries(viewer, service=service.slug, severity="sev2") == few_filtered
    # Every chart still draws something: the larger history did not fall outside the range.
    html = viewer.get(reverse("incidents:metrics")).content.decode()
    assert "Nothing to count in this range." not in html


def test_each_csv_download_is_one_query_plus_the_session(viewer):
    world(size=3)
    for name in CHARTS:
        with CaptureQueriesContext(connection) as queries:
            response = viewer.get(reverse("incidents:metrics"), {"format": "csv", "chart": name})
        assert response.status_code == 200
        assert len(queries) == 2 + 1, name


class NotPostgres:
    vendor = "sqlite"


def test_the_sqlite_fallbacks_give_the_figures_postgresql_gives(viewer, monkeypatch):
    """The fallbacks (Python over one query's rows) run here on PostgreSQL's rows, told the
    database is SQLite: the same page figures either way."""
    world(size=12)
    for i in range(12):
        start = FEB + timedelta(hours=i)
        IncidentFactory(started_at=start, detected_at=start + minutes(i * i + 1))
    names = ("detect", "mitigate", "resolve", "rollback", "near-misses")
    on_postgres = {name: figures(viewer, name) for name in names}
    monkeypatch.setattr(percentiles, "connection", NotPostgres())
    monkeypatch.setattr(delivery, "connection", NotPostgres())
    for name in names:
        assert figures(viewer, name) == on_postgres[name], name
    assert on_postgres["detect"]["2026-02"] != ["", ""]
