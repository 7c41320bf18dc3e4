"""A deployment's times are always there: recorded without them (as the CI client does), it starts
when the server received it and finishes when a finished status is recorded, so the gate, the
correlation and last known good never skip it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from deployments import selectors, services
from deployments.models import Deployment, Environment, GateRule, GateRun
from tests.factories import EnvironmentFactory, HealthCheckFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def build(worker_from: str) -> list[dict]:
    return [
        {"path": "_routes.json", "size": 162, "sha256": digest("routes")},
        {"path": "_worker.js", "size": 419_952, "sha256": digest(f"worker {worker_from}")},
    ]


@pytest.fixture
def production() -> Environment:
    return EnvironmentFactory(service__slug="moodmash", name="production")


def record(environment: Environment, external_id: str, **fields) -> Deployment:
    fields.setdefault("commit_sha", hashlib.sha1(external_id.encode()).hexdigest())
    deployment, created = services.deployment_record(
        environment=environment, external_id=external_id, **fields
    )
    assert created
    return deployment


@time_machine.travel(NOW, tick=False)
def test_a_record_without_a_start_starts_when_the_server_received_it(production):
    deployment = record(production, "ci-1")
    assert deployment.started_at == NOW
    assert deployment.finished_at is None
    deployment.refresh_from_db()
    assert deployment.started_at == NOW


@pytest.mark.parametrize("status", ["succeeded", "failed", "rolled_back"])
@time_machine.travel(NOW, tick=False)
def test_a_record_of_a_finished_deployment_without_times_finishes_now(production, status):
    deployment = record(production, "ci-1", status=status)
    deployment.refresh_from_db()
    assert (deployment.started_at, deployment.finished_at) == (NOW, NOW)


@time_machine.travel(NOW, tick=False)
def test_a_record_with_only_a_finish_time_starts_no_later_than_it_finished(production):
    finished = NOW - timedelta(minutes=5)
    deployment = record(production, "ci-1", status="succeeded", finished_at=finished)
    assert (deployment.started_at, deployment.finished_at) == (finished, finished)


@time_machine.travel(NOW, tick=False)
def test_given_times_are_stored_as_given(production):
    started, finished = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    deployment = record(
        production, "ci-1", status="succeeded", started_at=started, finished_at=finished
    )
    assert (deployment.started_at, deployment.finished_at) == (started, finished)


@time_machine.travel(NOW, tick=False)
def test_a_pending_deployment_has_no_finish_time_until_it_finishes(production):
    deployment = record(production, "ci-1")
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        done = services.deployment_set_status(deployment=deployment, status="succeeded")
    assert done.started_at == NOW
    assert done.finished_at == NOW + timedelta(minutes=3)


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_a_finish_time_given_with_the_status_it_already_has_is_stored(production, status):
    deployment = record(production, "ci-1", status=status)
    assert deployment.finished_at is not None
    finished = deployment.finished_at + timedelta(seconds=40)
    moved = services.deployment_set_status(
        deployment=deployment, status=status, finished_at=finished
    )
    assert moved.finished_at == finished
    assert Deployment.objects.get(pk=deployment.pk).finished_at == finished


def test_rolling_back_with_a_finish_time_stores_it(production):
    started = datetime(2026, 1, 2, 6, 1, tzinfo=UTC)
    deployment = record(
        production, "ci-1", status="succeeded", started_at=started, finished_at=started
    )
    later = started + timedelta(minutes=16)
    moved = services.deployment_set_status(
        deployment=deployment, status="rolled_back", finished_at=later
    )
    assert (moved.status, moved.finished_at) == ("rolled_back", later)


def test_a_finish_time_before_the_start_is_refused_even_for_the_status_it_has(production):
    started = datetime(2026, 1, 2, 6, 1, tzinfo=UTC)
    deployment = record(production, "ci-1", status="succeeded", started_at=started)
    with pytest.raises(ValidationError):
        services.deployment_set_status(
            deployment=deployment, status="succeeded", finished_at=started - timedelta(seconds=1)
        )
    assert Deployment.objects.get(pk=deployment.pk).finished_at == deployment.finished_at


def test_the_status_it_has_without_a_time_changes_nothing(production):
    deployment = record(production, "ci-1", status="succeeded")
    again = services.deployment_set_status(deployment=deployment, status="succeeded")
    assert again.finished_at == deployment.finished_at


# --- Readers that order or select by time --------------------------------------------------------


def test_the_stale_build_rule_compares_with_the_newest_deployment_even_without_times(production):
    # The history was recorded with its times (imported, or by a deploy script that sent them);
    # the newest one by the CI client, which sends none.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    record(
        production,
        "history",
        commit_sha="aaaa111",
        status="succeeded",
        manifest=build("dec-11"),
        started_at=yesterday,
        finished_at=yesterday + timedelta(minutes=1),
    )
    newest = record(
        production, "ci-latest", commit_sha="bbbb222", status="succeeded", manifest=build("dec-19")
    )
    services.gate_rule_create(
        environment=production, kind=GateRule.Kind.STALE_BUILD, path="_worker.js"
    )
    run = services.gate_evaluate(
        service=production.service,
        environment=production,
        commit_sha="cccc333",
        manifest=build("dec-19"),
    )
    [reason] = run.reasons
    assert run.verdict == GateRun.Verdict.BLOCK, reason["message"]
    assert reason["found"]["previous_deployment"]["external_id"] == newest.external_id


def test_a_deployment_recorded_without_times_is_among_those_around_an_incident(production):
    deployment = record(production, "ci-1", status="succeeded")
    around = selectors.deployments_around(
        service=production.service, start=datetime.now(UTC) - timedelta(minutes=1)
    )
    assert list(around) == [deployment]


def test_a_deployment_recorded_as_succeeded_without_times_can_become_last_known_good(
    production, settings
):
    settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES = 30
    check = HealthCheckFactory(service=production.service, environment=production)
    with time_machine.travel(NOW, tick=False):
        deployment = record(production, "ci-1", status="succeeded")
    # Its smoke run passed, and the checks stayed up for the half hour after.
    Deployment.objects.filter(pk=deployment.pk).update(
        health=Deployment.Health.HEALTHY, health_checked_at=NOW + timedelta(minutes=1)
    )
    for minutes in (10, 20, 30):
        services.snapshot_record(
            service=production.service,
            taken_at=NOW + timedelta(minutes=minutes),
            outcomes=[services.ProbeOutcome(health_check=check, ok=True)],
        )
    found = selectors.last_known_good(environment=production, before=NOW + timedelta(minutes=31))
    assert found == deployment
