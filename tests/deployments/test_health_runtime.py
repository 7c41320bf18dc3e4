"""The health runtime: slots claimed once, snapshots probed against real local targets, health
changes, the smoke run after a deploy, and beat driving a real Celery worker through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from core import plugins
from deployments.models import (
    CheckResult,
    Deployment,
    HealthChange,
    HealthSnapshot,
    HealthStatus,
    Service,
)
from deployments.services import (
    ProbeOutcome,
    deployment_record,
    deployment_set_status,
    snapshot_record,
)
from deployments.services.probes import health_dispatch_due, service_probe_run, slot_start
from deployments.tasks import deployment_smoke_run, service_probe
from hindsight.celery import app
from tests.deployments.servers import refused_port, start_banner_server, unaccepting_port
from tests.factories import (
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    ServiceFactory,
)
from tests.helpers import run_in_threads

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def eager_tasks():
    """Celery's eager mode, as in development: a task enqueued after commit runs right there."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def announced(monkeypatch) -> list[tuple[str, dict]]:
    """Every health event announced during the test, besides the app's own subscribers."""
    seen: list[tuple[str, dict]] = []
    for event in ("health_changed", "health_failing"):
        handlers = [*plugins._subscribers[event], lambda _e=event, **kw: seen.append((_e, kw))]
        monkeypatch.setitem(plugins._subscribers, event, handlers)
    return seen


# --- Slots and claims -----------------------------------------------------------------------------


def test_a_slot_holds_still_within_its_interval_and_moves_by_it():
    first = slot_start(service_id=5, interval=60, now=NOW)
    assert first <= NOW < first + timedelta(seconds=60)
    assert slot_start(service_id=5, interval=60, now=first + timedelta(seconds=59)) == first
    assert slot_start(service_id=5, interval=60, now=first + timedelta(seconds=60)) == (
        first + timedelta(seconds=60)
    )
    # Services on one interval are spread over it instead of probing in the same second.
    starts = {slot_start(service_id=i, interval=60, now=NOW).second for i in range(1, 11)}
    assert len(starts) == 10


def test_dispatch_claims_each_due_service_once_and_enqueues_after_commit(
    django_capture_on_commit_callbacks,
):
    due = HealthCheckFactory(interval_seconds=30)
    HealthCheckFactory(service=due.service, interval_seconds=300)
    HealthCheckFactory(service=due.service, interval_seconds=10, enabled=False)
    HealthCheckFactory(enabled=False)  # a service with no enabled check is never probed

    with django_capture_on_commit_callbacks() as enqueued:
        claims = health_dispatch_due(now=NOW)
    assert [(c.service_id, c.interval) for c in claims] == [(due.service_id, 30)]
    assert len(enqueued) == 1
    slot = claims[0].slot
    due.service.refresh_from_db()
    assert due.service.probe_due_at == slot + timedelta(seconds=30)

    # Later in the same slot: its last second, not NOW + a few seconds. The slot's start
    # depends on the service's id, so a few seconds on is the next slot for 5 ids in 30.
    with django_capture_on_commit_callbacks() as enqueued_again:
        assert health_dispatch_due(now=slot + timedelta(seconds=29)) == []
    assert enqueued_again == []
    next_claims = health_dispatch_due(now=slot + timedelta(seconds=30))
    assert [c.slot for c in next_claims] == [slot + timedelta(seconds=30)]


def test_a_shortened_interval_takes_effect_at_the_next_dispatch():
    check = HealthCheckFactory(interval_seconds=3600)
    (claim,) = health_dispatch_due(now=NOW)
    check.interval_seconds = 60
    check.save()

    (again,) = health_dispatch_due(now=NOW + timedelta(seconds=61))

    assert again.interval == 60
    assert again.slot > claim.slot


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dispatchers_racing_claim_every_slot_exactly_once(target_server, loopback_allowed):
    services = [ServiceFactory() for _ in range(5)]
    for service in services:
        HealthCheckFactory(service=service, url=target_server.url("/ok"), timeout_seconds=2)
    assert connection.vendor == "postgresql"

    results = run_in_threads(4, lambda _i: health_dispatch_due(now=NOW))

    assert not [r for r in results if isinstance(r, Exception)], results
    claimed = sorted(c.service_id for claims in results for c in claims)
    assert claimed == sorted(s.pk for s in services)


# --- Probing a service ----------------------------------------------------------------------------


@pytest.fixture
def service(target_server, loopback_allowed) -> Service:
    service = ServiceFactory(name="Shop", slug="shop")
    HealthCheckFactory(service=service, name="Home", order=1, url=target_server.url("/ok"))
    HealthCheckFactory(service=service, name="API", order=2, url=target_server.url("/status/503"))
    HealthCheckFactory(
        service=service, name="Off", order=3, url=target_server.url("/ok"), enabled=False
    )
    return service


def test_a_slot_stores_one_snapshot_with_a_result_per_enabled_check(service, target_server):
    snapshot = service_probe_run(service=service, slot=timezone.now() - timedelta(seconds=1))

    assert snapshot is not None
    assert snapshot.status == HealthStatus.DEGRADED
    assert snapshot.kind == HealthSnapshot.Kind.SCHEDULED
    results = {r.health_check.name: r for r in snapshot.results.select_related("health_check")}
    assert set(results) == {"Home", "API"}
    assert (results["Home"].ok, results["Home"].status_code, results["Home"].error) == (
        True,
        200,
        "",
    )
    assert results["Home"].latency_ms is not None
    assert (results["API"].ok, results["API"].status_code) == (False, 503)
    assert "unexpected status 503" in results["API"].error
    assert sorted(r.path for r in target_server.requests) == ["/ok", "/status/503"]


def test_the_same_slot_again_stores_nothing_and_probes_nothing(service, target_server):
    slot = timezone.now() - timedelta(seconds=1)
    assert service_probe(service.pk, slot.isoformat()) is not None
    probed = len(target_server.requests)

    assert service_probe(service.pk, slot.isoformat()) is None
    assert len(target_server.requests) == probed
    assert HealthSnapshot.objects.filter(service=service).count() == 1


def test_an_older_slot_after_a_newer_snapshot_stores_nothing(service):
    now = timezone.now()
    assert service_probe_run(service=service, slot=now - timedelta(seconds=1)) is not None
    assert service_probe_run(service=service, slot=now - timedelta(minutes=5)) is None
    assert HealthSnapshot.objects.filter(service=service).count() == 1


def test_a_deleted_service_or_a_bad_slot_is_a_quiet_no_op(service):
    assert service_probe(service.pk, "not a time") is None
    assert service_probe(10**9, timezone.now().isoformat()) is None


def test_targets_that_fail_every_way_are_stored_as_failed_results(
    settings, target_server, tls_target_server, loopback_allowed
):
    settings.HINDSIGHT_PROBE_CONNECT_TIMEOUT = 0.5
    service = ServiceFactory()
    targets = {
        "refused": (f"http://127.0.0.1:{refused_port()}/", "connection refused"),
        "blackholed": (f"http://127.0.0.1:{unaccepting_port()}/", "timed out"),
        "silent": (target_server.url("/hang"), "timed out"),
        "self-signed": (tls_target_server.url("/ok"), "TLS error"),
        "not http": (start_banner_server(), "not an HTTP answer"),
        "garbage": (target_server.url("/garbage"), "not an HTTP answer"),
        "blocked": ("http://169.254.169.254/latest/meta-data/", "blocked by SSRF guard"),
        "unresolvable": ("http://no-such-host.invalid/", "could not resolve"),
    }
    for name, (url, _error) in targets.items():
        HealthCheckFactory(service=service, name=name, url=url, timeout_seconds=0.5)

    snapshot_id = service_probe(service.pk, (timezone.now() - timedelta(seconds=1)).isoformat())
    assert snapshot_id is not None

    snapshot = HealthSnapshot.objects.get(pk=snapshot_id)
    assert snapshot.status == HealthStatus.DOWN
    errors = dict(
        CheckResult.objects.filter(snapshot=snapshot).values_list("health_check__name", "error")
    )
    assert set(errors) == set(targets)
    for name, (_url, expected) in targets.items():
        assert expected in errors[name], (name, errors[name])


# --- Health changes -------------------------------------------------------------------------------


def _record(check, moment, *oks, kind=HealthSnapshot.Kind.SCHEDULED) -> HealthSnapshot:
    checks = [check, *check.service.health_checks.exclude(pk=check.pk).order_by("pk")]
    return snapshot_record(
        service=check.service,
        taken_at=moment,
        outcomes=[
            ProbeOutcome(c, ok, error="" if ok else "503")
            for c, ok in zip(checks, oks, strict=True)
        ],
        kind=kind,
    )


def test_a_change_of_overall_status_records_a_change_and_announces_it(announced):
    check = HealthCheckFactory()
    HealthCheckFactory(service=check.service)
    first = _record(check, NOW, True, True)
    _record(check, NOW + timedelta(minutes=1), True, True)
    degraded = _record(check, NOW + timedelta(minutes=2), True, False)
    down = _record(check, NOW + timedelta(minutes=3), False, False)

    changes = list(HealthChange.objects.values_list("snapshot_id", "from_status", "to_status"))
    assert changes == [
        (first.pk, "", "up"),
        (degraded.pk, "up", "degraded"),
        (down.pk, "degraded", "down"),
    ]
    assert [kw["change"].snapshot_id for event, kw in announced if event == "health_changed"] == [
        first.pk,
        degraded.pk,
        down.pk,
    ]
    assert HealthChange.objects.get(snapshot=degraded).changed_at == degraded.taken_at


def test_a_snapshot_stored_out_of_order_records_no_change():
    check = HealthCheckFactory()
    _record(check, NOW, True)
    _record(check, NOW + timedelta(minutes=2), True)
    _record(check, NOW + timedelta(minutes=1), False)
    assert list(HealthChange.objects.values_list("to_status", flat=True)) == ["up"]


def test_a_run_now_snapshot_never_records_a_change_nor_hides_one():
    check = HealthCheckFactory()
    _record(check, NOW, True)
    _record(check, NOW + timedelta(minutes=1), False, kind=HealthSnapshot.Kind.MANUAL)
    assert HealthChange.objects.count() == 1
    down = _record(check, NOW + timedelta(minutes=2), False)
    assert HealthChange.objects.get(snapshot=down).from_status == "up"


# --- Smoke run after a deploy ---------------------------------------------------------------------


@pytest.fixture
def production(target_server, loopback_allowed):
    production = EnvironmentFactory()
    HealthCheckFactory(
        service=production.service, environment=production, url=target_server.url("/ok")
    )
    return production


def test_a_deployment_that_succeeds_is_marked_healthy_by_its_smoke_run(
    production, target_server, eager_tasks, django_capture_on_commit_callbacks
):
    preview = EnvironmentFactory(service=production.service, name="preview")
    HealthCheckFactory(
        service=production.service, environment=preview, url=target_server.url("/status/500")
    )
    deployment = DeploymentFactory(environment=production, status=Deployment.Status.PENDING)

    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        deployment_set_status(deployment=deployment, status=Deployment.Status.SUCCEEDED)

    assert len(enqueued) == 1
    deployment.refresh_from_db()
    assert deployment.health == Deployment.Health.HEALTHY
    assert deployment.health_checked_at is not None
    assert [r.path for r in target_server.requests] == ["/ok"]  # not the preview's check


def test_a_failing_check_marks_the_deployment_unhealthy(
    production, target_server, eager_tasks, django_capture_on_commit_callbacks
):
    HealthCheckFactory(
        service=production.service, environment=production, url=target_server.url("/status/502")
    )
    with django_capture_on_commit_callbacks(execute=True):
        deployment, created = deployment_record(
            environment=production,
            external_id="ci-42",
            commit_sha="abc1234",
            status=Deployment.Status.SUCCEEDED,
        )
    assert created
    deployment.refresh_from_db()
    assert deployment.health == Deployment.Health.UNHEALTHY


def test_the_smoke_run_marks_once_and_never_probes_twice(production, target_server):
    deployment = DeploymentFactory(environment=production, finished_at=timezone.now())

    assert deployment_smoke_run(deployment.pk) == Deployment.Health.HEALTHY
    checked_at = Deployment.objects.get(pk=deployment.pk).health_checked_at
    target_server.reset()
    assert deployment_smoke_run(deployment.pk) == Deployment.Health.HEALTHY

    assert target_server.requests == []
    assert Deployment.objects.get(pk=deployment.pk).health_checked_at == checked_at
    assert deployment_smoke_run(10**9) is None


def test_no_smoke_run_without_checks_or_for_history(production, django_capture_on_commit_callbacks):
    bare = EnvironmentFactory(service=production.service, name="staging")
    with django_capture_on_commit_callbacks() as enqueued:
        unchecked, _ = deployment_record(
            environment=bare, external_id="a", commit_sha="abc1234", status="succeeded"
        )
        old = timezone.now() - timedelta(days=2)
        deployment_record(
            environment=production,
            external_id="b",
            commit_sha="abc1234",
            status="succeeded",
            started_at=old,
            finished_at=old + timedelta(minutes=1),
        )
        deployment_record(environment=production, external_id="c", commit_sha="abc1234")
    assert enqueued == []
    assert deployment_smoke_run(unchecked.pk) == Deployment.Health.UNKNOWN


# --- Beat and a real worker -----------------------------------------------------------------------


def test_beat_runs_the_dispatcher_and_the_retention_job():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["health-dispatch"]["task"] == "deployments.tasks.health_dispatch"
    assert schedule["health-dispatch"]["schedule"] <= 10
    assert schedule["health-results-roll-up"]["task"] == "deployments.tasks.health_results_roll_up"
    # Task names are stable names, not import paths (incidents' tasks live in its rooms): each
    # one beat sends must be registered as a worker registers them at start: the apps' ready()
    # and the autodiscovered tasks modules.
    app.loader.import_default_modules()
    registered = app.tasks
    for entry in schedule.values():
        assert entry["task"] in registered, entry["task"]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_beat_and_worker_store_snapshots_of_a_local_target(
    celery_worker, target_server, loopback_allowed, tmp_path
):
    service = ServiceFactory(slug="beat-driven")
    HealthCheckFactory(service=service, url=target_server.url("/ok"), interval_seconds=10)
    beat = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "hindsight", "beat", "--loglevel", "WARNING"),
            *("--schedule", str(tmp_path / "beat-schedule"), "--max-interval", "1"),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hindsight.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert beat.stderr is not None
    try:
        deadline = time.monotonic() + 40
        while (
            time.monotonic() < deadline
            and not HealthSnapshot.objects.filter(service=service).exists()
        ):
            assert beat.poll() is None, beat.stderr.read().decode()
            time.sleep(0.25)
    finally:
        beat.terminate()
        beat.wait(timeout=10)

    snapshot = HealthSnapshot.objects.get(service=service)
    assert snapshot.status == HealthStatus.UP
    assert snapshot.kind == HealthSnapshot.Kind.SCHEDULED
    assert [r.path for r in target_server.requests] == ["/ok"]
    service.refresh_from_db()
    assert service.probe_due_at is not None
    assert service.probe_due_at > snapshot.taken_at - timedelta(seconds=10)
