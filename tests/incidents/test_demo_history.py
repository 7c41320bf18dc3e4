"""load_demo --history: years of made-up history that gives every metrics chart something to
say, loaded once however often the command runs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from deployments.models import CheckResultHourly, Deployment, GateRun, Service
from incidents.insights.metrics.forms import default_scope
from incidents.insights.metrics.selectors import CHARTS
from incidents.models import ActionItem, Cause, Incident, Severity, TimelineEvent
from tests.incidents.test_demo import row_counts

pytestmark = pytest.mark.django_db

# Over 90 days after the MoodMash outage: the demo rewrites its 90 days of uptime on each load
# and keeps the roll-ups of the outage itself, which a window that still reaches the outage
# would write twice.
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The demo with its history, loaded once for the tests that read it (a load takes seconds),
    in a transaction rolled back after the module; each test runs in a savepoint of its own.
    Returns what the command printed."""
    with django_db_blocker.unblock(), transaction.atomic():
        with time_machine.travel(NOW, tick=False):
            output = load("--history")
        yield output
        transaction.set_rollback(True)


def test_without_the_flag_the_demo_is_the_moodmash_outage_alone():
    load()
    assert Incident.objects.count() == 1


def test_the_history_gives_every_chart_of_the_default_year_something_to_draw(history):
    assert "history incidents" in history
    history = Incident.objects.exclude(service__slug="moodmash")
    assert history.count() > 100
    assert set(history.values_list("severity", flat=True)) == set(Severity.values)
    assert history.filter(started_at__lt=NOW - timedelta(days=2 * 365 + 300)).exists()
    assert not history.filter(detected_at__isnull=True).exists()
    categories = set(Cause.objects.filter(incident__in=history).values_list("category", flat=True))
    assert categories == set(Cause.Category.values)
    marked = Cause.objects.filter(incident__in=history, deployment__isnull=False)
    assert marked.exists()
    assert Deployment.objects.filter(rollback_of__in=marked.values("deployment")).exists()
    assert TimelineEvent.objects.filter(incident__in=history, kind="rollback").exists()
    items = ActionItem.objects.filter(incident__in=history)
    assert items.filter(status="done").exists()
    assert items.filter(status__in=["open", "in_progress"], due_date__lt=NOW.date()).exists()
    assert GateRun.objects.filter(verdict="block").count() > 20
    assert CheckResultHourly.objects.exclude(service__slug="moodmash").exists()
    assert not history.filter(search_document__isnull=True).exists()

    today = NOW.date()
    scope = default_scope(today)
    for name, selector in CHARTS.items():
        assert not selector(scope, today).is_empty, name


def test_loading_the_history_again_adds_nothing(history):
    first = row_counts()
    load("--history")
    assert row_counts() == first


def test_incident_numbers_follow_on_from_the_demo_incident_without_gaps(history):
    numbers = sorted(Incident.objects.values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))
    assert date(2026, 1, 2) == Incident.objects.get(number=1).started_at.date()


def test_two_loads_on_the_same_day_write_the_same_history(history):
    def written() -> list[tuple]:
        return list(
            Incident.objects.exclude(service__slug="moodmash")
            .order_by("started_at", "title")
            .values_list("service__slug", "title", "severity", "started_at", "resolved_at")
        )

    first = written()  # loaded at noon
    slugs = {slug for slug, *_ in first}
    Incident.objects.filter(service__slug__in=slugs).delete()
    Service.objects.filter(slug__in=slugs).delete()
    with time_machine.travel(NOW.replace(hour=23), tick=False):
        load("--history")
    assert written() == first
