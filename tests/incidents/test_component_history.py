"""The uptime bars show both: each component's day carries the worst status people (or its
checks) gave it that day, from the status changes the services write down, beside its checks'
uptime. Days before a component's history begins show the checks only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from incidents.models import Component, ComponentGroup, ComponentStatus, ComponentStatusChange
from incidents.statuspage import services
from incidents.statuspage.page.build import _worst_by_day
from tests.factories import HealthCheckFactory, ServiceFactory
from tests.incidents.test_status_page import result

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OP, DEGRADED, PARTIAL, MAJOR = (
    ComponentStatus.OPERATIONAL,
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def changes(component: Component) -> list[tuple[str, datetime]]:
    return list(
        ComponentStatusChange.objects.filter(component=component)
        .order_by("at", "pk")
        .values_list("status", "at")
    )


def marks(component: Component) -> dict[int, str]:
    """The marks above the component's bars, by day index (89 is today)."""
    html = Client().get("/status/").content.decode()
    svg = re.search(
        rf'<svg class="uptime"[^>]*aria-labelledby="uptime-c{component.pk}".*?</svg>', html, re.S
    )
    assert svg, f"no bars for component {component.pk}"
    days = re.findall(r"<g>(.*?)</g>", svg.group(0))
    assert len(days) == 90
    return {
        n: found.group(1)
        for n, day in enumerate(days)
        if (found := re.search(r'<rect class="s-(\w+)"', day))
    }


def at_days_ago(days: int, hour: int = 12) -> datetime:
    return (NOW - timedelta(days=days)).replace(hour=hour)


# --- what the services write down ----------------------------------------------------------------


def test_every_service_that_sets_a_status_writes_it_down():
    check = HealthCheckFactory()
    web = services.component_save(name="Web", health_checks=[check])
    assert changes(web) == [(OP, web.created_at)]

    services.component_set_status(component=web, status=DEGRADED, user=None, expected=OP)
    result(check, at=NOW - timedelta(minutes=1), ok=False)
    services.component_save(component=web, follows_checks=True)
    assert changes(web) == [(OP, web.created_at), (DEGRADED, NOW), (MAJOR, NOW)]


def test_a_refused_change_writes_nothing_down():
    web = services.component_save(name="Web")
    with pytest.raises(services.ComponentStatusConflict):
        services.component_set_status(component=web, status=MAJOR, user=None, expected=PARTIAL)
    assert changes(web) == [(OP, web.created_at)]


# --- what the bars show --------------------------------------------------------------------------


def test_a_past_day_shows_the_worst_status_it_had_beside_the_checks_uptime(clock):
    check = HealthCheckFactory()
    clock.move_to(at_days_ago(10))
    web = services.component_save(name="Web", health_checks=[check])
    for days, hour, status in [(3, 9, PARTIAL), (3, 10, MAJOR), (3, 11, OP), (1, 23, DEGRADED)]:
        clock.move_to(at_days_ago(days, hour))
        services.component_set_status(component=web, status=status, user=None)
    clock.move_to(NOW)
    result(check, at=NOW - timedelta(minutes=1))
    # Degraded from yesterday 23:00 holds into today.
    assert marks(web) == {86: MAJOR, 88: DEGRADED, 89: DEGRADED}


def test_a_status_set_before_the_first_day_shown_holds_until_it_changes(clock):
    clock.move_to(NOW - timedelta(days=200))
    web = services.component_save(name="Web")
    services.component_set_status(component=web, status=PARTIAL, user=None)
    clock.move_to(at_days_ago(5))
    services.component_set_status(component=web, status=OP, user=None)
    clock.move_to(NOW)
    assert marks(web) == dict.fromkeys(range(85), PARTIAL)


def test_days_before_the_history_begins_show_the_checks_only():
    check = HealthCheckFactory()
    result(check, at=NOW - timedelta(minutes=1))
    # Made before its changes were written down, and never changed since.
    old = Component.objects.create(name="Old", status=PARTIAL)
    old.health_checks.set([check])
    assert marks(old) == {}
    html = Client().get("/status/").content.decode()
    assert f'aria-labelledby="uptime-c{old.pk}"' in html


def test_a_component_without_checks_shows_its_status_history_alone(clock):
    clock.move_to(at_days_ago(2))
    api = services.component_save(name="API")
    services.component_set_status(component=api, status=MAJOR, user=None)
    clock.move_to(NOW)
    services.component_set_status(component=api, status=OP, user=None)
    # Down from two days ago until now: today counts too.
    assert marks(api) == {87: MAJOR, 88: MAJOR, 89: MAJOR}
    assert "No checks: status only" in Client().get("/status/").content.decode()


def test_a_status_that_ends_at_midnight_does_not_mark_the_next_day():
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    midnight = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    held = [(datetime(2026, 3, 1, 22, 0, tzinfo=UTC), MAJOR), (midnight, OP)]
    assert _worst_by_day(held, days, NOW) == [MAJOR, OP]
    assert _worst_by_day([], days, NOW) == [None, None]


# --- how cheaply -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 50])
def test_the_page_costs_the_same_queries_however_many_components_and_changes(
    django_assert_num_queries, clock, n
):
    group = ComponentGroup.objects.create(name="MoodMash")
    service = ServiceFactory()
    made = []
    for i in range(n):
        check = HealthCheckFactory(name=f"Check {i}", service=service)
        result(check, at=NOW - timedelta(minutes=1))
        made.append(services.component_save(name=f"Part {i}", group=group, health_checks=[check]))
    # An outage every third day of the 30 the page shows: 20 changes a component (3,000 service
    # calls for every day cost seconds, and showed nothing more).
    outage_days = range(1, 31, 3)
    for days in outage_days:
        clock.move_to(at_days_ago(days, 6))
        for part in made:
            services.component_set_status(component=part, status=PARTIAL, user=None)
        clock.move_to(at_days_ago(days, 7))
        for part in made:
            services.component_set_status(component=part, status=OP, user=None)
    clock.move_to(NOW)
    # The kept page looked for (by the middleware, then by the view), its own reads (checks,
    # their uptime, components, their status history, maintenance, incidents), the page stored.
    with django_assert_num_queries(2 + 6 + 1):
        html = Client().get("/status/").content.decode()
    assert html.count('<rect class="s-partial_outage"') == len(outage_days) * n
