"""The incident page's "Deployments and health" section, "Mark as cause", and the deployment and
health rows merged into the timeline."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.models import Change, Deployment
from incidents.models import Cause, Incident, TimelineEvent
from incidents.system import views as system_panel
from tests.deployments.test_correlation import System, at
from tests.factories import (
    T0,
    ChangeFactory,
    DeploymentFactory,
    IncidentFactory,
    MaintenanceWindowFactory,
    TimelineEventFactory,
    user_with_role,
)
from tests.helpers import search

pytestmark = pytest.mark.django_db


def outage(*, deployments: int = 1, template: str = "rollback {external_id}") -> tuple:
    """A service that was fine, got a bad deployment, failed for ten minutes and recovered,
    with a resolved incident over it. Returns (system, incident, good, bad)."""
    system = System(checks=2, template=template)
    good = system.deploy(-300)
    system.snaps(-299, -260, every=5)
    for i in range(deployments - 1):
        system.deploy(-250 + i * 3, health=Deployment.Health.UNKNOWN)
    system.snaps(-10, -1)
    bad = system.deploy(-0.5, health=Deployment.Health.UNHEALTHY, commit_sha="badc0de" + "1" * 33)
    system.snaps(0, 9, failing=[0, 1])
    system.snaps(10, 20)
    incident = IncidentFactory(
        service=system.service,
        started_at=T0,
        resolved_at=at(10),
        status=Incident.Status.RESOLVED,
    )
    return system, incident, good, bad


def panel(client, incident: Incident, **headers) -> str:
    response = client.get(reverse("incidents:system_panel", args=[incident.reference]), **headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def viewer_client(client):
    client.force_login(user_with_role("viewer"))
    return client


@pytest.fixture
def editor_client(client):
    client.force_login(user_with_role("editor"))
    return client


class TestSection:
    def test_the_incident_page_loads_the_section_after_itself_with_a_plain_link_too(
        self, viewer_client
    ):
        _system, incident, _good, _bad = outage()
        html = viewer_client.get(reverse("incidents:detail", args=[incident.reference]))
        html = html.content.decode()
        url = reverse("incidents:system_panel", args=[incident.reference])
        assert f'hx-get="{url}" hx-trigger="load"' in html
        assert f'<a href="{url}">' in html
        assert 'src="/static/js/copy.js"' in html
        assert "<script>" not in html  # no inline script: the page stays CSP-friendly

    def test_htmx_gets_the_section_and_a_plain_request_a_whole_page(self, viewer_client):
        _system, incident, _good, _bad = outage()
        fragment = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        assert "<html" not in fragment
        assert 'id="section-system"' in fragment
        page = panel(viewer_client, incident)
        assert "<html" in page
        assert 'id="section-system"' in page
        assert "hx-trigger" not in page.split('id="section-system"')[1].split(">")[0]

    def test_it_shows_the_suspect_the_last_known_good_and_its_rollback_command(self, viewer_client):
        _system, incident, good, bad = outage()
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        suspect = html.split('class="system-card suspect-card"')[1].split("</div>")[0]
        assert "badc0de" in suspect
        assert "Unhealthy" in suspect
        known = html.split('class="system-card lkg-card"')[1]
        assert good.commit_sha[:7] in known.split("</p>")[0]
        command = f"rollback {good.external_id}"
        assert f'<code id="rollback-command-{incident.reference}">{command}</code>' in html
        assert f'data-copy-target="rollback-command-{incident.reference}"' in html
        row = search(r'<tr class="suspect">.*?</tr>', html, re.S).group(0)
        assert "badc0de" in row
        assert "suspect" in row
        assert bad.pk != good.pk

    def test_the_strip_is_a_picture_one_row_per_check_one_cell_per_snapshot(self, viewer_client):
        _system, incident, _good, _bad = outage()
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        svg = search(r"<svg class=\"check-strip\".*?</svg>", html, re.S).group(0)
        # From 15 minutes before the first failure (at 0) to the end of the data: two checks,
        # snapshots every minute from -10 to 20.
        cells = re.findall(r'<rect class="cell (ok|failed)"', svg)
        assert len(cells) == 2 * 31
        assert cells.count("failed") == 2 * 10
        assert svg.count('class="strip-label"') == 2
        assert "<title>Check 0 at 06:05: failed, 404: Expected HTTP 200" in svg
        assert "<table" not in svg

    def test_the_bracketing_names_the_last_healthy_the_failures_and_the_recovery(
        self, viewer_client
    ):
        _system, incident, _good, _bad = outage()
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        summary = html.split('<ul class="bracketing">')[1].split("</ul>")[0]
        assert "2026-01-02 06:01" in summary  # last healthy, a minute before the start
        assert "failed 10 times, 06:02 to 06:11" in summary
        assert "2026-01-02 06:12" in summary  # first healthy after

    def test_an_unknown_placeholder_shows_the_template_with_a_note(self, viewer_client):
        _system, incident, _good, _bad = outage(template="rollback --to {deployment}")
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        assert ">rollback --to {deployment}</code>" in html
        assert "Unknown placeholder {deployment}" in html

    def test_a_service_with_nothing_recorded_says_so(self, viewer_client):
        incident = IncidentFactory()
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        assert "No deployment finished" in html
        assert "No deployment is known good" in html
        assert "No health check results" in html

    def test_changes_are_listed_with_the_deployments_and_the_last_before_red_is_suspected(
        self, viewer_client
    ):
        system, incident, _good, bad = outage()
        flag = ChangeFactory(
            service=system.service,
            environment=system.production,
            kind=Change.Kind.FEATURE_FLAG,
            summary="New checkout for everyone",
            link="https://flags.example.test/checkout",
            by="release bot",
            at=at(-2),
        )
        ChangeFactory(service=system.service, summary="Bigger database", at=at(3))
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        assert "Deployments and changes from" in html
        card = html.split('class="system-card suspect-change-card"')[1].split("</div>")[0]
        assert "New checkout for everyone" in card
        assert "Feature flag" in card
        assert 'href="https://flags.example.test/checkout" rel="noopener noreferrer nofollow"' in (
            card
        )
        table = search(r"<tbody>.*?</tbody>", html, re.S).group(0)
        rows = re.findall(r"<tr.*?</tr>", table, re.S)
        # Oldest first: the good deployment, the flag, the bad deployment, the database.
        assert "New checkout for everyone" in rows[-3]
        assert "suspect" in rows[-3]
        assert bad.commit_sha[:7] in rows[-2]
        assert "Bigger database" in rows[-1]
        assert "suspect" not in rows[-1]
        assert "<td>all</td>" in rows[-1]  # a change to the whole service
        assert flag.pk

    def test_failures_inside_a_maintenance_window_are_drawn_apart_and_not_counted(
        self, viewer_client
    ):
        system = System(checks=2)
        watched = system.checks[0]
        watched.environment = system.production
        watched.save()
        system.snaps(-20, -4)
        MaintenanceWindowFactory(
            service=system.service,
            environment=system.production,
            starts_at=at(-3),
            ends_at=at(2) + timedelta(seconds=30),
        )
        system.snaps(-3, -1, failing=[0])
        system.snaps(0, 3, failing=[0, 1])
        system.snaps(4, 12)
        incident = IncidentFactory(
            service=system.service,
            started_at=T0,
            resolved_at=at(10),
            status=Incident.Status.RESOLVED,
        )
        html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
        svg = search(r"<svg class=\"check-strip\".*?</svg>", html, re.S).group(0)
        assert re.findall(r'<rect class="cell (\w+)"', svg).count("maintenance") == 6
        assert "<title>Check 0 at 06:00: failed inside a maintenance window</title>" in svg
        assert "key maintenance" in html
        summary = html.split('<ul class="bracketing">')[1].split("</ul>")[0]
        assert "2026-01-02 05:58" in summary  # the last up: maintenance is not healthy
        assert "<strong>Check 0</strong> failed 1 time," in summary  # at 3, after the window
        assert "<strong>Check 1</strong> failed 4 times," in summary

    def test_viewers_see_no_mark_as_cause_button(self, viewer_client):
        _system, incident, _good, _bad = outage()
        assert "Mark as cause" not in panel(viewer_client, incident, HTTP_HX_REQUEST="true")

    def test_the_query_count_does_not_grow_with_deployments_changes_or_snapshots(
        self, viewer_client
    ):
        counts = []
        for size in (1, 50):
            system, incident, _good, _bad = outage(deployments=size)
            for i in range(size):
                ChangeFactory(
                    service=system.service, environment=system.production, at=at(-200 + i)
                )
            with CaptureQueriesContext(connection) as captured:
                html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
            # The header, the deployments and the changes.
            assert html.count("<tr") == 2 * size + 2
            counts.append(len(captured.captured_queries))
        # Session and user (2), permissions (2), incident (1), correlation (9), causes (1),
        # strip (1), the service's health now (1).
        assert counts == [17, 17], counts


class TestStrip:
    def test_past_the_column_limit_snapshots_share_columns(self, monkeypatch):
        monkeypatch.setattr(system_panel, "STRIP_MAX_COLUMNS", 10)
        _system, incident, _good, _bad = outage()
        context = system_panel.panel_context(incident)
        strip = context["strip"]
        assert strip.columns == 10
        assert all(len(row.cells) <= 10 for row in strip.rows)
        failed = [c for c in strip.rows[0].cells if c.state == "failed"]
        assert failed
        assert all(" to " in c.title for c in failed)

    def test_a_long_open_incident_draws_at_most_a_day(self):
        system = System(checks=1)
        system.snaps(-5, 0)
        incident = IncidentFactory(service=system.service, started_at=T0)
        strip = system_panel.panel_context(incident)["strip"]
        assert strip.end - strip.start <= system_panel.STRIP_MAX_SPAN


class TestMarkAsCause:
    def url(self, incident: Incident, deployment: Deployment) -> str:
        return reverse("incidents:mark_as_cause", args=[incident.reference, deployment.pk])

    def test_an_editor_marks_the_suspect_as_the_trigger_once(self, editor_client):
        _system, incident, _good, bad = outage()
        for _ in range(2):
            response = editor_client.post(self.url(incident, bad))
            assert response.status_code == 302
        cause = Cause.objects.get(incident=incident)
        assert (cause.kind, cause.deployment) == (Cause.Kind.TRIGGER, bad)
        assert "`badc0de`" in cause.title
        assert "production" in cause.title
        assert response.url.endswith(f"#row-causes-{cause.pk}")
        html = panel(editor_client, incident, HTTP_HX_REQUEST="true")
        assert "Already among this incident's causes." in html
        assert "Mark as cause" not in html
        assert cause.history.first().history_user.username == "editor-user"

    def test_a_cause_already_naming_the_deployment_counts(self, editor_client):
        _system, incident, _good, bad = outage()
        Cause.objects.create(incident=incident, kind=Cause.Kind.PRIMARY, title="x", deployment=bad)
        editor_client.post(self.url(incident, bad))
        assert Cause.objects.filter(incident=incident).count() == 1

    def test_the_button_is_there_for_editors(self, editor_client):
        _system, incident, _good, bad = outage()
        html = panel(editor_client, incident, HTTP_HX_REQUEST="true")
        assert f'action="{self.url(incident, bad)}"' in html
        assert "Mark as cause" in html

    def test_another_services_deployment_is_a_404(self, editor_client):
        _system, incident, _good, _bad = outage()
        stranger = DeploymentFactory()
        assert editor_client.post(self.url(incident, stranger)).status_code == 404
        assert not Cause.objects.exists()

    def test_a_viewer_is_refused(self, viewer_client):
        _system, incident, _good, bad = outage()
        assert viewer_client.post(self.url(incident, bad)).status_code == 403
        assert not Cause.objects.exists()


class TestMergedTimeline:
    def timeline(self, client, incident: Incident) -> str:
        html = client.get(reverse("incidents:detail", args=[incident.reference])).content
        return html.decode().split('id="section-timeline"')[1].split("</section>")[0]

    def test_deployments_and_health_changes_in_the_window_are_merged_read_only(self, editor_client):
        system, incident, _good, _bad = outage()
        during = system.deploy(5, commit_sha="f1f1f1f" + "2" * 33)
        system.deploy(15)  # after the incident was resolved
        written = TimelineEventFactory(incident=incident, occurred_at=at(3), text="Paged.")
        html = self.timeline(editor_client, incident)
        merged = re.findall(r'<li class="event [^"]* merged" data-source="(\w+)">', html)
        # Health: up -> down at 0 and down -> up at 10; one deployment during the incident.
        assert merged == ["health", "deployment", "health"]
        assert "Health went from up to down." in html
        assert "<code>f1f1f1f</code> to production" in html
        assert during.started_at < at(10)
        # People's rows keep their controls; merged rows have none.
        assert f'id="row-timeline-{written.pk}"' in html
        assert html.count("row-controls") == 1
        assert not TimelineEvent.objects.filter(source=TimelineEvent.Source.HEALTH).exists()

    def test_changes_in_the_window_are_merged_read_only_with_their_link(self, viewer_client):
        system, incident, _good, _bad = outage()
        ChangeFactory(
            service=system.service,
            environment=system.production,
            kind=Change.Kind.FEATURE_FLAG,
            summary="new-feed on for 10%",
            by="alex",
            link="https://flags.example.com/new-feed",
            at=at(4),
        )
        ChangeFactory(service=system.service, summary="Before the start", at=at(-3))
        ChangeFactory(service=system.service, summary="After it was resolved", at=at(15))
        html = self.timeline(viewer_client, incident)
        merged = re.findall(r'<li class="event [^"]* merged" data-source="(\w+)">', html)
        assert merged == ["health", "change", "health"]
        assert "Feature flag change to production by alex: new-feed on for 10%" in html
        assert 'href="https://flags.example.com/new-feed"' in html
        assert "Before the start" not in html
        assert "After it was resolved" not in html
        assert not TimelineEvent.objects.filter(kind=TimelineEvent.Kind.CHANGE).exists()

    def test_rows_come_in_time_order(self, viewer_client):
        _system, incident, _good, _bad = outage()
        TimelineEvent.objects.create(incident=incident, occurred_at=at(1), text="First page.")
        TimelineEvent.objects.create(incident=incident, occurred_at=at(11), text="All clear.")
        html = self.timeline(viewer_client, incident)
        times = re.findall(r'<time datetime="([^"]+)"', html)
        assert times == sorted(times)
        assert len(times) == 4

    def test_a_deployment_a_timeline_event_names_is_not_repeated(self, viewer_client):
        system, incident, _good, _bad = outage()
        fix = system.deploy(5)
        TimelineEvent.objects.create(
            incident=incident, occurred_at=at(5), text="Fix shipped.", deployment=fix
        )
        html = self.timeline(viewer_client, incident)
        assert 'data-source="deployment"' not in html
        assert html.count(fix.commit_sha[:7]) == 1

    def test_an_open_incident_merges_up_to_now(self, viewer_client):
        system = System()
        system.snaps(-3, -1)
        system.snaps(0, 2, failing=[0])
        incident = IncidentFactory(service=system.service, started_at=T0)
        html = self.timeline(viewer_client, incident)
        assert "Health went from up to degraded." in html

    def test_the_timeline_costs_three_queries_more_whatever_the_rows(self, viewer_client):
        counts = []
        for size in (1, 30):
            system, incident, _good, _bad = outage()
            for i in range(size):
                system.deploy(1 + i * 0.2)
                ChangeFactory(service=system.service, at=at(1 + i * 0.2))
            with CaptureQueriesContext(connection) as captured:
                html = self.timeline(viewer_client, incident)
            assert html.count('data-source="deployment"') == size
            assert html.count('data-source="change"') == size
            counts.append(len(captured.captured_queries))
            system_side = [
                q
                for q in captured.captured_queries
                if 'FROM "deployments_deployment"' in q["sql"]
                or 'FROM "deployments_change"' in q["sql"]
                or 'FROM "deployments_healthchange"' in q["sql"]
            ]
            assert len(system_side) == 3  # deployments, changes and health changes
        # The rest is the post-mortem's own, pinned in tests/incidents/test_views.py.
        assert counts[0] == counts[1], counts

    def test_other_sections_fragments_do_not_read_the_system_side(self, viewer_client):
        _system, incident, _good, _bad = outage()
        url = reverse("incidents:fragment", args=[incident.reference, "section-causes"])
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(url).status_code == 200
        sql = " ".join(q["sql"] for q in captured.captured_queries)
        assert "deployments_healthchange" not in sql
        assert "deployments_deployment" not in sql.split("incidents_cause")[0]


def test_the_window_before_the_start_is_not_merged(client):
    client.force_login(user_with_role("viewer"))
    _system, incident, _good, bad = outage()
    html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
    timeline = html.split('id="section-timeline"')[1].split("</section>")[0]
    # The bad deployment went out half a minute before the start: the section shows it, the
    # timeline (the incident's own window) does not.
    assert bad.commit_sha[:7] not in timeline
    assert bad.started_at < incident.started_at
    section = client.get(
        reverse("incidents:system_panel", args=[incident.reference]), HTTP_HX_REQUEST="true"
    )
    assert bad.commit_sha[:7] in section.content.decode()
