"""Similar past incidents: the same service with failing health checks in common, or a close
title, each shown with the action items it left open; on the incident page (a panel loaded
after the page) and after declaring.

The text comparison runs on whichever database this run has, and on PostgreSQL also through
the SQLite path, so both ways are tested on the same crafted history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from deployments.models import CheckResult, CheckResultHourly, HealthCheck, HealthSnapshot
from deployments.models.health import HealthStatus
from incidents.insights import search
from incidents.insights import services as search_services
from incidents.insights.recurrence import selectors
from incidents.models import ActionItem, Cause, Incident
from incidents.postmortem.forms import VersionedForm
from incidents.postmortem.sections import DETAIL_FIELDS
from incidents.postmortem.services import comparable_values
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    HealthCheckFactory,
    IncidentFactory,
    ServiceFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

NOW = T0  # the incident being looked at started then
LOOKED_AT = NOW + timedelta(hours=1)  # and is looked at an hour later, still open
LONG_AGO = T0 - timedelta(days=400)


@pytest.fixture(params=["this database", "the sqlite path"])
def engine(request, monkeypatch):
    """The search as this database does it, and (on PostgreSQL) as SQLite does it."""
    if request.param == "the sqlite path":
        if not search.full_text():
            pytest.skip("this run is on SQLite already: the first parameter covers it")
        monkeypatch.setattr(search, "full_text", lambda: False)
    return request.param


def failed(check: HealthCheck, at: datetime) -> None:
    snapshot = HealthSnapshot.objects.create(
        service=check.service, taken_at=at, status=HealthStatus.DOWN
    )
    CheckResult.objects.create(
        snapshot=snapshot,
        health_check=check,
        service=check.service,
        taken_at=at,
        ok=False,
        status_code=500,
        error="HTTP 500",
    )


def failed_in_an_hour_rolled_up(check: HealthCheck, hour: datetime) -> None:
    CheckResultHourly.objects.create(
        health_check=check, service=check.service, hour=hour, samples=60, ok_count=45
    )


def incident(title: str, started: datetime, **kwargs) -> Incident:
    return IncidentFactory(
        title=title,
        started_at=started,
        resolved_at=started + timedelta(hours=1),
        status=Incident.Status.RESOLVED,
        **kwargs,
    )


@pytest.fixture
def history():
    """A checkout service whose worker check fails now, as it did twice before (once long
    enough ago to be rolled up into hours), and incidents that only look a little alike."""
    checkout = ServiceFactory(name="Checkout", slug="checkout")
    login = ServiceFactory(name="Login", slug="login")
    worker = HealthCheckFactory(service=checkout, name="Worker file")
    homepage = HealthCheckFactory(service=checkout, name="Homepage")
    login_api = HealthCheckFactory(service=login, name="Login API")

    now = IncidentFactory(
        service=checkout, title="Payments stall while jobs queue up", started_at=NOW
    )
    failed(worker, NOW + timedelta(minutes=3))

    same_check = incident("Orders stuck in the queue", NOW - timedelta(days=40), service=checkout)
    failed(worker, same_check.started_at + timedelta(minutes=10))
    ActionItemFactory(incident=same_check, title="Alert on the worker's error rate")
    ActionItemFactory(
        incident=same_check,
        title="Restart the worker by hand",
        status=ActionItem.Status.DONE,
        done_at=same_check.started_at,
    )
    rolled_up = incident("Nightly batch never ran", LONG_AGO, service=checkout)
    failed_in_an_hour_rolled_up(worker, LONG_AGO.replace(minute=0))

    other_check = incident("Homepage images broken", NOW - timedelta(days=20), service=checkout)
    failed(homepage, other_check.started_at + timedelta(minutes=5))
    quiet = incident("Slow reports for finance", NOW - timedelta(days=10), service=checkout)
    elsewhere = incident("Sign-in errors for everyone", NOW - timedelta(days=5), service=login)
    failed(login_api, elsewhere.started_at + timedelta(minutes=1))
    later = incident("Orders stuck again", NOW + timedelta(days=3), service=checkout)
    failed(worker, later.started_at + timedelta(minutes=1))
    search_services.search_documents_rebuild()
    return {
        "now": now,
        "same_check": same_check,
        "rolled_up": rolled_up,
        "other_check": other_check,
        "quiet": quiet,
        "elsewhere": elsewhere,
        "later": later,
    }


def titles(found: list[selectors.Similar]) -> list[str]:
    return [similar.incident.title for similar in found]


# --- same service, failing checks in common ---------------------------------------------------


def test_earlier_incidents_where_the_same_check_failed_are_found_raw_or_rolled_up(history):
    found = selectors.similar_incidents(history["now"], now=LOOKED_AT)
    assert titles(found) == ["Orders stuck in the queue", "Nightly batch never ran"]
    assert all(similar.same_checks and not similar.close_text for similar in found)


def test_only_the_open_action_items_come_with_them(history):
    [same_check, rolled_up] = selectors.similar_incidents(history["now"], now=LOOKED_AT)
    assert [item.title for item in same_check.open_items] == ["Alert on the worker's error rate"]
    assert same_check.open_count == 1
    assert rolled_up.open_items == []


def test_an_incident_with_no_failing_check_finds_none_by_checks(history):
    quiet_service = ServiceFactory()
    HealthCheckFactory(service=quiet_service)
    calm = IncidentFactory(service=quiet_service, title="Calm day", started_at=NOW)
    assert selectors.failing_checks(calm, now=LOOKED_AT) == set()
    assert selectors.similar_incidents(calm, now=LOOKED_AT) == []


# --- close text --------------------------------------------------------------------------------


@pytest.fixture
def titled():
    """Incidents of several services, one of them a near duplicate in other words."""
    api = ServiceFactory(name="API", slug="api")
    web = ServiceFactory(name="Web", slug="web")
    near = incident(
        "Checkout workers crashing: compiled file missing after deploy",
        NOW - timedelta(days=300),
        service=web,
    )
    ActionItemFactory(incident=near, title="Check the build output before shipping")
    for title, days in [
        ("Checkout page slow during the spring sale", 30),
        ("Compiled CSS served stale from the cache", 60),
        ("Deploy pipeline stuck on a lock", 90),
        ("Database failover took twelve minutes", 120),
    ]:
        incident(title, NOW - timedelta(days=days), service=api)
    duplicate = incident("Checkout worker crashed, compiled file missing", NOW - timedelta(days=2))
    duplicate.duplicate_of = near
    duplicate.save()
    now = IncidentFactory(
        service=api, title="Checkout worker crashed after deploy: compiled file missing"
    )
    search_services.search_documents_rebuild()
    return now


def test_a_near_duplicate_in_other_words_is_found_and_look_alikes_are_not(titled, engine):
    found = selectors.similar_incidents(titled, now=NOW)
    assert titles(found) == ["Checkout workers crashing: compiled file missing after deploy"]
    [near] = found
    assert near.close_text
    assert not near.same_checks
    assert [item.title for item in near.open_items] == ["Check the build output before shipping"]


def test_a_title_of_one_word_compares_no_text(titled, engine):
    lone = IncidentFactory(title="Checkout", started_at=NOW)
    assert selectors.similar_incidents(lone, now=NOW) == []


@pytest.mark.parametrize(
    ("other", "close"),
    [
        ("Checkout workers crashing: compiled file missing after deploy", True),
        ("Checkout page slow during the spring sale", False),
        ("Deploy of the checkout worker", False),  # three of seven words
    ],
)
def test_titles_are_close_when_they_share_half_the_distinctive_words(other, close):
    words = selectors.title_words("Checkout worker crashed after deploy: compiled file missing")
    assert words == ["checkout", "worker", "crashed", "deploy", "compiled", "file", "missing"]
    assert selectors.close_titles(words, other) is close


# --- both ways at once, and the page -----------------------------------------------------------


def test_an_incident_alike_both_ways_comes_first(history):
    checkout = history["now"].service
    twin = incident("Payments stall, jobs queue up", NOW - timedelta(days=400), service=checkout)
    failed(HealthCheck.objects.get(name="Worker file"), twin.started_at)
    search_services.search_documents_rebuild()
    found = selectors.similar_incidents(history["now"], now=LOOKED_AT)
    assert titles(found)[0] == "Payments stall, jobs queue up"
    assert found[0].same_checks
    assert found[0].close_text


def test_the_incident_page_loads_the_panel_after_itself(client, history):
    client.force_login(user_with_role(Role.VIEWER))
    reference = history["now"].reference
    page = client.get(reverse("incidents:detail", args=[reference])).content.decode()
    panel_url = reverse("incidents:similar_panel", args=[reference])
    assert f'hx-get="{panel_url}"' in page
    assert "Orders stuck in the queue" not in page  # not read for the page itself

    panel = client.get(panel_url, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200
    html = panel.content.decode()
    assert html.lstrip().startswith("<section")
    assert "Orders stuck in the queue" in html
    assert "Alert on the worker&#x27;s error rate" in html
    assert "Restart the worker by hand" not in html  # done
    assert "Homepage images broken" not in html
    assert "Sign-in errors for everyone" not in html
    assert "Orders stuck again" not in html  # later, not past
    without_js = client.get(panel_url)
    assert "<html" in without_js.content.decode()
    assert "Orders stuck in the queue" in without_js.content.decode()


def test_the_panel_needs_a_login(client, history):
    response = client.get(reverse("incidents:similar_panel", args=[history["now"].reference]))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_panel_says_so_when_nothing_looks_alike(client):
    client.force_login(user_with_role(Role.VIEWER))
    alone = IncidentFactory(title="First incident ever")
    html = client.get(
        reverse("incidents:similar_panel", args=[alone.reference]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No earlier incident looks like this one." in html


def panel_queries(client, incident: Incident) -> int:
    url = reverse("incidents:similar_panel", args=[incident.reference])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    return len(queries)


def test_the_panel_costs_the_same_for_1_and_50_past_incidents_and_their_items(client):
    client.force_login(user_with_role(Role.VIEWER))
    service = ServiceFactory()
    check = HealthCheckFactory(service=service)

    def past(n: int) -> None:
        start = NOW - timedelta(days=n + 1)
        old = incident(f"Queue backlog on the workers {n}", start, service=service)
        failed(check, start + timedelta(minutes=n % 50))
        ActionItemFactory.create_batch(3, incident=old)
        CauseFactory(incident=old, category=Cause.Category.CAPACITY)

    current = IncidentFactory(service=service, title="Queue backlog on the workers again")
    CauseFactory(incident=current, category=Cause.Category.CAPACITY)
    failed(check, NOW)
    past(0)
    search_services.search_documents_rebuild()
    one = panel_queries(client, current)
    for n in range(1, 50):
        past(n)
    search_services.search_documents_rebuild()
    assert panel_queries(client, current) == one


def test_declaring_an_incident_like_an_earlier_one_says_so(client, titled):
    client.force_login(user_with_role(Role.EDITOR))
    data = {
        "service": str(titled.service.pk),
        "title": "Checkout workers crashed after a deploy: compiled file missing",
        "severity": "sev2",
        "started_at": "2026-01-03T10:00",
    }
    response = client.post(reverse("incidents:declare"), data, follow=True)
    assert response.status_code == 200, response.content
    [message] = [str(m) for m in response.context["messages"]]
    assert "Earlier incidents look like it" in message
    near = Incident.objects.get(title__startswith="Checkout workers crashing")
    assert near.reference in message


@pytest.mark.parametrize(
    ("changes", "refresh"),
    [({"title": "Orders stuck in the queue again"}, True), ({"severity": "sev1"}, False)],
)
def test_saving_the_title_tells_the_panel_to_look_again_and_the_severity_does_not(
    client, changes, refresh
):
    client.force_login(user_with_role(Role.EDITOR))
    incident = IncidentFactory(title="Orders stuck", severity="sev3", started_at=T0)
    data = {
        "title": incident.title,
        "severity": incident.severity,
        "status_line": "",
        "started_at": T0.strftime("%Y-%m-%dT%H:%M"),
        "detected_at": "",
        "mitigated_at": "",
        "resolved_at": "",
        "version": incident.version,
        "base": VersionedForm.sign_base(comparable_values(incident, list(DETAIL_FIELDS))),
        **changes,
    }
    response = client.post(
        reverse("incidents:details_edit", args=[incident.reference]),
        data,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content
    assert (response.get("HX-Trigger") == "similar-refresh") is refresh
