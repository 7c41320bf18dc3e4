"""deployment_verify: the smoke checks run again on request, for the deployment its environment
runs now, without ever overwriting a later verdict."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from deployments import selectors
from deployments.models import Deployment
from deployments.services import (
    ProbeOutcome,
    deployment_record,
    deployment_verify,
    snapshot_record,
)
from deployments.services import probes as probes_module
from tests.factories import EnvironmentFactory, HealthCheckFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(target_server, loopback_allowed):
    production = EnvironmentFactory()
    HealthCheckFactory(
        service=production.service, environment=production, url=target_server.url("/ok")
    )
    return production


def test_a_verdict_stored_while_the_probes_ran_is_not_overwritten(production, monkeypatch):
    deployment, _ = deployment_record(
        environment=production, external_id="ci-1", commit_sha="abc1234", status="succeeded"
    )
    real_probe = probes_module.probe_checks
    later = timezone.now() + timedelta(seconds=30)

    def probe_while_another_verify_answers(checks):
        outcomes = real_probe(checks)
        Deployment.objects.filter(pk=deployment.pk).update(
            health=Deployment.Health.UNHEALTHY, health_checked_at=later
        )
        return outcomes

    monkeypatch.setattr(probes_module, "probe_checks", probe_while_another_verify_answers)
    verified = deployment_verify(deployment=deployment)
    assert (verified.health, verified.health_checked_at) == ("unhealthy", later)


def test_a_deployment_recorded_meanwhile_keeps_the_answer_from_the_older_one(
    production, monkeypatch
):
    deployment, _ = deployment_record(
        environment=production, external_id="ci-1", commit_sha="abc1234", status="succeeded"
    )
    real_probe = probes_module.probe_checks

    def probe_while_the_next_one_ships(checks):
        outcomes = real_probe(checks)
        deployment_record(
            environment=production,
            external_id="ci-2",
            commit_sha="def5678",
            status="succeeded",
            started_at=timezone.now() + timedelta(seconds=1),
        )
        return outcomes

    monkeypatch.setattr(probes_module, "probe_checks", probe_while_the_next_one_ships)
    verified = deployment_verify(deployment=deployment)
    assert (verified.health, verified.health_checked_at) == ("unknown", None)


def test_a_verified_deployment_that_stays_healthy_becomes_last_known_good(production, settings):
    settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES = 30
    deployment, _ = deployment_record(
        environment=production, external_id="ci-1", commit_sha="abc1234", status="succeeded"
    )
    assert deployment_verify(deployment=deployment).health == Deployment.Health.HEALTHY
    check = production.health_checks.get()
    assert deployment.finished_at is not None
    for minutes in (10, 20, 30):
        snapshot_record(
            service=production.service,
            taken_at=deployment.finished_at + timedelta(minutes=minutes),
            outcomes=[ProbeOutcome(health_check=check, ok=True)],
        )
    with time_machine.travel(deployment.finished_at + timedelta(minutes=31)):
        assert selectors.last_known_good(environment=production) == deployment
