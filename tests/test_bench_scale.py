"""The scale benchmark's generator (bench/scale_history.py) at a size of a few incidents, so that
a change to a model that would break it shows here rather than when someone runs make bench.

It writes with PostgreSQL's COPY, so it runs on PostgreSQL only.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from deployments.models import CheckResult, CheckResultHourly, Deployment, GateRun, HealthSnapshot
from incidents.models import ActionItem, Cause, Incident, TimelineEvent

BENCH = Path(__file__).resolve().parent.parent / "bench"
# The benchmarks import each other as top-level modules, as `python bench/scale.py` runs them.
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
scale_history = importlib.import_module("scale_history")
scale_texts = importlib.import_module("scale_texts")

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

INCIDENTS = 12
HEALTH_DAYS = 0.01  # 14 minutes


@pytest.fixture
def history():
    now = timezone.now()
    scale_history.history_base(now=now, health_days=HEALTH_DAYS)
    return scale_history.history_fill(incidents=INCIDENTS, now=now)


def test_the_generator_writes_every_table_at_its_share_per_incident(history):
    # One to four hours per resolved incident, fewer where two share an hour.
    failing_hours = history.pop("failing check hours")
    assert INCIDENTS - 3 <= failing_hours <= (INCIDENTS - 3) * 4
    assert history == {
        "incidents": INCIDENTS,
        "timeline events": INCIDENTS * 30,
        "causes": INCIDENTS * 3,
        "lessons": INCIDENTS * 3,
        "action items": INCIDENTS * 8,
        "success criteria": INCIDENTS * 2,
        "deployments": INCIDENTS * 20,
        "changes": INCIDENTS * 5,
        "gate runs": INCIDENTS * 5,
        "search documents": INCIDENTS,
    }
    assert Incident.objects.count() == INCIDENTS
    assert TimelineEvent.objects.count() == INCIDENTS * 30
    assert Deployment.objects.count() == INCIDENTS * 20
    minutes = int(HEALTH_DAYS * 24 * 60)
    assert HealthSnapshot.objects.count() == CheckResult.objects.count() == 50 * minutes
    assert CheckResultHourly.objects.exists()


def test_the_newest_incidents_are_open_and_the_rest_resolved(history):
    newest_first = list(Incident.objects.order_by("-started_at").values_list("status", flat=True))
    assert [s != "resolved" for s in newest_first] == [True] * 3 + [False] * (INCIDENTS - 3)


def test_the_busiest_owner_has_open_and_done_items(history):
    owner = scale_history.busiest_owner()
    statuses = set(ActionItem.objects.filter(owner=owner).values_list("status", flat=True))
    assert {"open", "done"} <= statuses


def test_a_second_fill_continues_the_ids_and_numbers(history):
    scale_history.history_fill(incidents=3, now=timezone.now(), seed=7)
    numbers = sorted(Incident.objects.values_list("number", flat=True))
    assert numbers == list(range(1, INCIDENTS + 4))


def test_the_pages_the_benchmark_times_answer_on_the_generated_history(history, client):
    client.force_login(scale_history.busiest_owner())
    newest = Incident.objects.order_by("-started_at")[0]
    for url in (
        "/",
        "/incidents/",
        f"/incidents/?q={scale_texts.SEARCH_HIT}",
        f"/incidents/{newest.reference}/",
        "/action-items/?mine=on&overdue=on",
        "/api/v1/action-items?status=open",
        f"/api/v1/incidents?q={scale_texts.SEARCH_MISS}",
        "/metrics/",
        "/metrics/?service=service-07",
    ):
        assert client.get(url).status_code == 200, url


def test_the_history_holds_what_every_metrics_chart_reads(history):
    assert Cause.objects.exclude(category="").count() == INCIDENTS * 3
    assert Cause.objects.filter(deployment__isnull=False).exists()
    assert TimelineEvent.objects.filter(kind=TimelineEvent.Kind.ROLLBACK).exists()
    assert GateRun.objects.filter(verdict=GateRun.Verdict.BLOCK).exists()
    assert CheckResultHourly.objects.filter(ok_count__lt=F("samples")).exists()


def test_nothing_generated_says_the_word_the_benchmark_searches_for_in_vain(history):
    word = scale_texts.SEARCH_MISS
    assert not Incident.objects.filter(title__icontains=word).exists()
    assert not Incident.objects.filter(summary__icontains=word).exists()
    assert not TimelineEvent.objects.filter(text__icontains=word).exists()
    assert not ActionItem.objects.filter(title__icontains=word).exists()
