"""An incident older than HINDSIGHT_RESULT_RETENTION_DAYS keeps its health after the roll-up:
every reader of old health data (the incident's health panel and strip, the correlation API, the
facts drafts and messages use, the status page's uptime) answers from the hourly roll-ups where
the raw results are gone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from deployments.models import CheckResult, CheckResultHourly, HealthSnapshot
from deployments.selectors import check_answers_between, snapshots_bracketing
from deployments.services.retention import results_roll_up
from incidents.communications.facts import affected_components
from incidents.drafting.facts import draft_from_facts
from incidents.statuspage.selectors import uptime_rows
from tests.api.test_incidents_api import API, bearer
from tests.deployments.test_correlation import at
from tests.factories import T0, user_with_role
from tests.helpers import search
from tests.incidents.test_system_panel import outage, panel

pytestmark = pytest.mark.django_db

# A month after the outage: well past the default fourteen days of raw results.
A_MONTH_LATER = T0 + timedelta(days=30)


@pytest.fixture
def old_outage():
    """outage() (two checks failing from 06:02 to 06:11, recovered at 06:12), then rolled up
    by retention as the hourly task does, a month later."""
    system, incident, _good, _bad = outage()
    with time_machine.travel(A_MONTH_LATER, tick=False):
        report = results_roll_up()
    assert report.results_deleted > 0
    assert not CheckResult.objects.filter(service=system.service).exists()
    assert CheckResultHourly.objects.filter(service=system.service).exists()
    return system, incident


@pytest.fixture
def viewer_client(client):
    client.force_login(user_with_role("viewer"))
    return client


def test_the_bracketing_still_names_the_failing_checks_to_the_hour(old_outage):
    system, incident = old_outage
    found = snapshots_bracketing(
        service=system.service, start=incident.started_at, end=incident.resolved_at
    )
    assert [(f.name, f.count) for f in found.failing] == [("Check 0", 10), ("Check 1", 10)]
    # Known to the hour, and bounded by the recovery that the kept health change records.
    assert found.after is not None
    assert found.after.taken_at == at(10)
    assert found.first_failed_at is not None
    assert found.first_failed_at <= at(0)
    assert found.last_failed_at == at(10) - timedelta(seconds=1)
    # The raw error went with the raw rows; nothing is made up in its place.
    assert {f.last_error for f in found.failing} == {""}


def test_raw_and_rolled_up_failures_of_one_check_add_up(old_outage):
    system, incident = old_outage
    # A failure recorded after the roll-up, still raw, an hour later.
    system.snaps(70, 70, failing=[0])
    found = snapshots_bracketing(service=system.service, start=incident.started_at, end=at(80))
    check_0 = found.failing[0]
    assert (check_0.name, check_0.count) == ("Check 0", 11)
    assert check_0.last_failed_at == at(70)
    assert check_0.last_error.startswith("Expected HTTP 200")


def test_the_incident_panel_still_shows_its_strip_and_failures(old_outage, viewer_client):
    _system, incident = old_outage
    html = panel(viewer_client, incident, HTTP_HX_REQUEST="true")
    assert "No health check results around this incident" not in html
    svg = search(r"<svg class=\"check-strip\".*?</svg>", html, re.S).group(0)
    cells = re.findall(r'<rect class="cell (ok|failed)"', svg)
    # One column per rolled-up hour from 15 minutes before the first failure: 05:00 and 06:00.
    assert cells == ["ok", "failed", "ok", "failed"]
    assert "Check 0 at 06:00 to 06:59: failed 10 of 23, answers rolled up" in svg
    assert "or per hour where results past retention are rolled up" in html
    summary = html.split('<ul class="bracketing">')[1].split("</ul>")[0]
    assert "failed 10 times, 06:00 to 06:11" in summary
    assert "2026-01-02 06:12" in summary  # first healthy after: the kept change to up


def test_the_correlation_api_still_answers_the_failing_checks(old_outage):
    _system, incident = old_outage
    api = bearer(user_with_role("viewer"), scope="read")
    response = api.get(f"{API}/incidents/{incident.reference}/correlation")
    assert response.status_code == 200, response.content
    bracketing = response.json()["bracketing"]
    assert [(f["name"], f["count"]) for f in bracketing["failing"]] == [
        ("Check 0", 10),
        ("Check 1", 10),
    ]
    assert bracketing["after"]["taken_at"] == "2026-01-02T06:12:00Z"


def test_messages_still_name_the_affected_checks(old_outage):
    _system, incident = old_outage
    assert affected_components(incident) == ["Check 0", "Check 1"]


def test_the_draft_from_the_facts_still_says_when_checks_failed_and_recovered(old_outage):
    _system, incident = old_outage
    texts = {fact.text: fact.occurred_at for fact in draft_from_facts(incident).events}
    failing = "Health checks started failing: **Check 0**, **Check 1**."
    assert failing in texts
    assert texts["Health checks healthy again: the first healthy snapshot after the failures."] == (
        at(10)
    )


def test_the_status_pages_uptime_is_the_same_before_and_after_the_roll_up():
    system, _incident, _good, _bad = outage()
    check_ids = [check.pk for check in system.checks]
    since = T0 - timedelta(days=1)

    def per_day():
        totals: dict = {}
        for row in uptime_rows(check_ids=check_ids, since=since):
            key = (row["health_check_id"], row["day"])
            samples, ok = totals.get(key, (0, 0))
            totals[key] = (samples + row["samples"], ok + row["ok"])
        return totals

    before = per_day()
    with time_machine.travel(A_MONTH_LATER, tick=False):
        results_roll_up()
    assert not CheckResult.objects.exists()
    assert per_day() == before
    assert before[(check_ids[0], T0.date())][0] > before[(check_ids[0], T0.date())][1]


def test_the_strips_answers_come_from_one_query_raw_or_rolled_up(
    old_outage, django_assert_num_queries
):
    system, _incident = old_outage
    system.snaps(70, 72)
    with django_assert_num_queries(1):
        answers = check_answers_between(service=system.service, start=at(-60), end=at(80))
    assert [a.hourly for a in answers].count(False) == 3 * 2
    assert {a.at for a in answers if a.hourly} == {at(-62), at(-2)}
    assert HealthSnapshot.objects.filter(service=system.service).count() < 60
