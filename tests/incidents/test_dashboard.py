from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from deployments import selectors as deployment_selectors
from deployments.models import HealthSnapshot, HealthStatus
from incidents.action_items import selectors
from incidents.models import ActionItem, Incident
from tests.factories import (
    T0,
    ActionItemFactory,
    HealthCheckFactory,
    IncidentFactory,
    ServiceFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=T0.tzinfo)


def dashboard_html(client) -> str:
    response = client.get(reverse("incidents:dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, heading_id: str) -> str:
    """The HTML of one dashboard panel, found by its heading's id."""
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


class TestAccess:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(reverse("incidents:dashboard"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("role", Role.values)
    def test_every_role_may_read_the_dashboard(self, client, role):
        client.force_login(user_with_role(role))
        assert client.get(reverse("incidents:dashboard")).status_code == 200

    def test_post_is_not_allowed(self, client):
        client.force_login(user_with_role(Role.ADMIN))
        assert client.post(reverse("incidents:dashboard")).status_code == 405

    def test_declare_button_is_shown_to_editors_only(self, client):
        declare = reverse("incidents:declare")
        client.force_login(user_with_role(Role.VIEWER))
        assert declare not in dashboard_html(client)
        client.force_login(user_with_role(Role.EDITOR))
        assert declare in dashboard_html(client)


class TestOpenIncidents:
    def test_resolved_incidents_are_left_out(self, client):
        IncidentFactory(title="Still burning", status=Incident.Status.MONITORING)
        IncidentFactory(
            title="Long over", status=Incident.Status.RESOLVED, resolved_at=T0 + timedelta(hours=1)
        )
        client.force_login(UserFactory())
        panel = section(dashboard_html(client), "open-incidents-h")
        assert "Still burning" in panel
        assert "Long over" not in panel

    def test_most_severe_comes_first_and_severity_status_and_start_are_shown(self, client):
        IncidentFactory(title="Minor", severity="sev4")
        IncidentFactory(title="Major", severity="sev1", status=Incident.Status.IDENTIFIED)
        client.force_login(UserFactory())
        panel = section(dashboard_html(client), "open-incidents-h")
        assert panel.index("Major") < panel.index("Minor")
        assert "SEV1 · Critical" in panel
        assert "Identified" in panel
        assert "2026-01-02 06:02" in panel


class TestMyActionItems:
    def test_a_long_list_shows_ten_and_links_to_all_of_them(self, client):
        me = UserFactory()
        for i in range(12):
            ActionItemFactory(owner=me, title=f"Item number {i:02d}")
        client.force_login(me)
        panel = section(dashboard_html(client), "my-items-h")
        assert panel.count("Item number") == 10
        assert f"{reverse('incidents:action_items')}?mine=on" in panel
        assert "All 12 of your open items" in panel

    def test_a_backlog_is_counted_in_the_database_and_only_the_rows_shown_are_read(self, client):
        me = UserFactory()
        ActionItemFactory.create_batch(30, owner=me)
        client.force_login(me)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("incidents:dashboard"))
        assert response.context["my_items_count"] == 30
        assert "All 30 of your open items" in section(response.content.decode(), "my-items-h")
        reads = [
            q["sql"]
            for q in ctx.captured_queries
            if f'"incidents_actionitem"."owner_id" = {me.pk}' in q["sql"]
            and "COUNT(" not in q["sql"]
        ]
        assert len(reads) == 1
        assert reads[0].rstrip().endswith("LIMIT 10"), reads[0]

    @time_machine.travel(NOON, tick=False)
    def test_only_my_open_items_are_listed(self, client):
        me, someone = UserFactory(), UserFactory()
        ActionItemFactory(owner=me, title="Mine, open")
        ActionItemFactory(owner=me, title="Mine, started", status=ActionItem.Status.IN_PROGRESS)
        ActionItemFactory(owner=me, title="Mine, done", status=ActionItem.Status.DONE, done_at=NOON)
        ActionItemFactory(owner=me, title="Mine, dropped", status=ActionItem.Status.WONT_DO)
        ActionItemFactory(owner=someone, title="Theirs")
        ActionItemFactory(owner=None, title="Nobody's")
        client.force_login(me)
        panel = section(dashboard_html(client), "my-items-h")
        assert "Mine, open" in panel
        assert "Mine, started" in panel
        for absent in ("Mine, done", "Mine, dropped", "Theirs", "Nobody&#x27;s"):
            assert absent not in panel

    @time_machine.travel(NOON, tick=False)
    def test_overdue_items_come_first_and_are_marked(self, client):
        me = UserFactory()
        ActionItemFactory(owner=me, title="Undated")
        ActionItemFactory(owner=me, title="Due next week", due_date=TODAY + timedelta(days=7))
        ActionItemFactory(owner=me, title="Due today", due_date=TODAY)
        ActionItemFactory(owner=me, title="Late a day", due_date=TODAY - timedelta(days=1))
        ActionItemFactory(owner=me, title="Late a month", due_date=TODAY - timedelta(days=30))
        client.force_login(me)
        panel = section(dashboard_html(client), "my-items-h")
        order = ["Late a month", "Late a day", "Due today", "Due next week", "Undated"]
        positions = [panel.index(title) for title in order]
        assert positions == sorted(positions)
        rows = panel.split("<li")[1:]
        marked = [row for row in rows if "Overdue" in row]
        assert len(marked) == 2
        assert "Late a month" in marked[0]
        assert "Late a day" in marked[1]

    def test_the_selector_flags_only_items_due_before_today(self):
        me = UserFactory()
        ActionItemFactory(owner=me, title="late", due_date=TODAY - timedelta(days=1))
        ActionItemFactory(owner=me, title="today", due_date=TODAY)
        ActionItemFactory(owner=me, title="undated")
        flags = {
            item.title: item.overdue  # type: ignore[attr-defined]  # annotated by the selector
            for item in selectors.action_items_open_for(user=me, today=TODAY)
        }
        assert flags == {"late": True, "today": False, "undated": False}


class TestBlockingItems:
    def test_open_blocking_items_are_shown_with_incident_and_service(self, client):
        service = ServiceFactory(name="Checkout")
        incident = IncidentFactory(service=service, title="Payments down")
        ActionItemFactory(incident=incident, title="Add the build check", blocks_deployments=True)
        ActionItemFactory(incident=incident, title="Write a runbook", blocks_deployments=False)
        ActionItemFactory(
            incident=incident,
            title="Already fixed",
            blocks_deployments=True,
            status=ActionItem.Status.DONE,
            done_at=T0,
        )
        client.force_login(UserFactory())
        panel = section(dashboard_html(client), "blocking-h")
        assert "Add the build check" in panel
        assert "Checkout" in panel
        assert incident.reference in panel
        assert "Payments down" in panel
        assert "Write a runbook" not in panel
        assert "Already fixed" not in panel

    def test_a_blocking_item_of_a_resolved_incident_still_shows(self, client):
        incident = IncidentFactory(
            status=Incident.Status.RESOLVED, resolved_at=T0 + timedelta(hours=1)
        )
        ActionItemFactory(incident=incident, title="Gate the deploy", blocks_deployments=True)
        client.force_login(UserFactory())
        assert "Gate the deploy" in section(dashboard_html(client), "blocking-h")


class TestPostmortemsInReview:
    def test_only_postmortems_in_review_are_listed(self, client):
        IncidentFactory(title="Needs eyes", postmortem_state=Incident.PostmortemState.IN_REVIEW)
        IncidentFactory(title="Being written", postmortem_state=Incident.PostmortemState.DRAFT)
        IncidentFactory(title="Out there", postmortem_state=Incident.PostmortemState.PUBLISHED)
        client.force_login(UserFactory())
        panel = section(dashboard_html(client), "review-h")
        assert "Needs eyes" in panel
        assert "Being written" not in panel
        assert "Out there" not in panel


class TestServiceHealth:
    @time_machine.travel(T0 + timedelta(minutes=6), tick=False)
    def test_each_service_shows_its_latest_snapshot_or_no_data(self, client):
        watched = ServiceFactory(name="Watched")
        HealthCheckFactory(service=watched)
        ServiceFactory(name="Unwatched")
        HealthSnapshot.objects.create(service=watched, taken_at=T0, status=HealthStatus.DOWN)
        HealthSnapshot.objects.create(
            service=watched, taken_at=T0 + timedelta(minutes=5), status=HealthStatus.DEGRADED
        )
        HealthSnapshot.objects.create(
            service=watched, taken_at=T0 - timedelta(minutes=5), status=HealthStatus.UP
        )
        client.force_login(UserFactory())
        rows = section(dashboard_html(client), "health-h").split("<li")[1:]
        watched_row = next(row for row in rows if "Watched" in row)
        unwatched_row = next(row for row in rows if "Unwatched" in row)
        assert "Degraded" in watched_row
        assert "2026-01-02 06:07" in watched_row
        assert "last check 1 minute ago" in watched_row
        assert "Down" not in watched_row
        assert "No data" in unwatched_row

    def test_health_older_than_three_probe_intervals_is_unknown_with_its_age(self, client):
        watched = ServiceFactory(name="Watched")
        HealthCheckFactory(service=watched, interval_seconds=600)
        HealthSnapshot.objects.create(service=watched, taken_at=T0, status=HealthStatus.UP)
        client.force_login(UserFactory())
        with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
            fresh = section(dashboard_html(client), "health-h")
        with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
            stale = section(dashboard_html(client), "health-h")
        assert '<span class="health up">Up</span>' in fresh
        assert "last check 29 minutes ago" in fresh
        assert ">Unknown</span>" in stale
        assert "last check 31 minutes ago" in stale
        assert ">Up</span>" not in stale

    def test_without_an_enabled_check_the_last_snapshot_is_unknown(self, client):
        watched = ServiceFactory(name="Watched")
        HealthCheckFactory(service=watched, enabled=False)
        HealthSnapshot.objects.create(service=watched, taken_at=T0, status=HealthStatus.UP)
        client.force_login(UserFactory())
        with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
            assert ">Unknown</span>" in section(dashboard_html(client), "health-h")

    def test_latest_health_of_every_service_is_one_query(self, django_assert_num_queries):
        for n in range(5):
            service = ServiceFactory()
            for minute in range(3):
                HealthSnapshot.objects.create(
                    service=service,
                    taken_at=T0 + timedelta(minutes=minute),
                    status=HealthStatus.UP if minute < 2 else HealthStatus.DOWN,
                )
            if n == 0:
                HealthSnapshot.objects.filter(service=service).delete()
        with django_assert_num_queries(1):
            statuses = [s.health_status for s in deployment_selectors.service_health()]  # type: ignore[attr-defined]  # annotated by the selector
        assert sorted(statuses, key=str) == [None, "down", "down", "down", "down"]


def fill_dashboard(user, rows: int) -> None:
    """`rows` rows in every list of the dashboard, as `user` sees it."""
    for i in range(rows):
        service = ServiceFactory()
        HealthSnapshot.objects.create(service=service, taken_at=T0, status=HealthStatus.UP)
        HealthSnapshot.objects.create(
            service=service, taken_at=T0 + timedelta(minutes=1), status=HealthStatus.DOWN
        )
        incident = IncidentFactory(service=service, postmortem_state="in_review")
        ActionItemFactory(
            incident=incident,
            owner=user,
            blocks_deployments=True,
            due_date=date(2026, 1, 1) + timedelta(days=i * 30),
        )


class TestQueryBudget:
    # session, user, the user's permissions (2: can_edit), then each list's count and the rows
    # it shows (2 each: open incidents, my items, blocking items, post-mortems in review), and
    # service health.
    BUDGET = 13

    @time_machine.travel(NOON, tick=False)
    def test_query_count_does_not_grow_with_rows(self, client):
        user = user_with_role(Role.EDITOR)
        client.force_login(user)
        counts = []
        for rows in (1, 50):
            ActionItem.objects.all().delete()
            Incident.objects.all().delete()
            HealthSnapshot.objects.all().delete()
            fill_dashboard(user, rows)
            with CaptureQueriesContext(connection) as ctx:
                html = dashboard_html(client)
            assert html.count('class="tag overdue"') == min(rows, 3)
            counts.append(len(ctx.captured_queries))
        assert counts == [self.BUDGET, self.BUDGET], counts


class TestBoundedLists:
    """Five years of forgotten blocking items made the dashboard grow from 25 KB to 145 KB: each
    list shows its first rows and says how many there are in all."""

    @time_machine.travel(NOON, tick=False)
    def test_each_list_shows_its_first_rows_and_the_whole_count(self, client):
        user = user_with_role(Role.EDITOR)
        client.force_login(user)
        fill_dashboard(user, 30)
        html = dashboard_html(client)

        blocking = section(html, "blocking-h")
        assert blocking.count("<li>") == 10
        assert '<span class="count">30</span>' in blocking
        assert "?blocking=on" in blocking
        assert "All 30 items that block deployments" in blocking
        review = section(html, "review-h")
        assert review.count("<li>") == 10
        assert "The 10 newest of 30." in review
        opened = section(html, "open-incidents-h")
        assert opened.count("<tr>") == 1 + 25  # the head and 25 rows
        assert '<span class="count">30</span>' in opened
