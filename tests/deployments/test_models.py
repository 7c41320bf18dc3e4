from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from deployments import selectors, services
from deployments.models import CheckResult, Deployment, HealthCheck, HealthSnapshot
from tests.factories import (
    T0,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    ServiceFactory,
)
from tests.helpers import assert_violates

pytestmark = pytest.mark.django_db

SHA = "a" * 64


class TestDatabaseRules:
    def test_external_id_is_unique_per_environment(self):
        existing = DeploymentFactory()
        assert_violates(
            "deployment_external_id_unique",
            lambda: Deployment.objects.bulk_create(
                [
                    Deployment(
                        environment=existing.environment,
                        external_id=existing.external_id,
                        commit_sha="abc1234",
                    )
                ]
            ),
            columns="deployments_deployment.environment_id, deployments_deployment.external_id",
        )

    def test_same_external_id_in_another_environment_is_fine(self):
        existing = DeploymentFactory()
        preview = EnvironmentFactory(service=existing.environment.service, name="preview")
        DeploymentFactory(environment=preview, external_id=existing.external_id)

    def test_deployment_cannot_finish_before_it_started(self):
        deployment = DeploymentFactory()
        started_at = deployment.started_at
        assert started_at is not None
        assert_violates(
            "deployment_finished_after_started",
            lambda: Deployment.objects.filter(pk=deployment.pk).update(
                finished_at=started_at - timedelta(seconds=1)
            ),
        )

    def test_deployment_cannot_roll_back_itself(self):
        deployment = DeploymentFactory()
        assert_violates(
            "deployment_not_own_rollback",
            lambda: Deployment.objects.filter(pk=deployment.pk).update(rollback_of=deployment.pk),
        )

    def test_health_check_expects_a_real_status_code(self):
        check = HealthCheckFactory()
        assert_violates(
            "healthcheck_expected_status_valid",
            lambda: HealthCheck.objects.filter(pk=check.pk).update(expected_status=42),
        )

    def test_passing_result_carries_no_error(self):
        check = HealthCheckFactory()
        snapshot = services.snapshot_record(
            service=check.service,
            taken_at=T0,
            outcomes=[services.ProbeOutcome(health_check=check, ok=True, status_code=200)],
        )
        assert_violates(
            "result_ok_has_no_error",
            lambda: CheckResult.objects.filter(snapshot=snapshot).update(error="boom"),
        )

    def test_one_snapshot_per_service_and_moment(self):
        service = ServiceFactory()
        HealthSnapshot.objects.create(service=service, taken_at=T0, status="up")
        assert_violates(
            "snapshot_moment_unique",
            lambda: HealthSnapshot.objects.bulk_create(
                [HealthSnapshot(service=service, taken_at=T0, status="down")]
            ),
            columns="deployments_healthsnapshot.service_id, deployments_healthsnapshot.taken_at",
        )


class TestDeploymentRecord:
    def test_manifest_is_stored_as_rows_with_an_order_free_digest(self):
        env = EnvironmentFactory()
        files = [
            {"path": "_worker.js", "size": 420_000, "sha256": SHA},
            {"path": "_routes.json", "size": 120, "sha256": "b" * 64},
        ]
        first, created = services.deployment_record(
            environment=env, external_id="one", commit_sha="ABC1234", manifest=files
        )
        second, _ = services.deployment_record(
            environment=env, external_id="two", commit_sha="def5678", manifest=files[::-1]
        )
        assert created
        assert first.commit_sha == "abc1234"
        assert sorted(first.artifacts.values_list("path", flat=True)) == [
            "_routes.json",
            "_worker.js",
        ]
        assert first.manifest_digest == second.manifest_digest != ""

    def test_same_external_id_returns_the_first_deployment(self):
        env = EnvironmentFactory()
        first, created = services.deployment_record(
            environment=env, external_id="x", commit_sha="abc1234"
        )
        again, created_again = services.deployment_record(
            environment=env, external_id="x", commit_sha="abc1234"
        )
        assert created
        assert not created_again
        assert again.pk == first.pk
        assert Deployment.objects.count() == 1


class TestSnapshots:
    def test_overall_status_follows_the_checks(self):
        service = ServiceFactory()
        a, b = HealthCheckFactory(service=service), HealthCheckFactory(service=service)
        outcome = services.ProbeOutcome
        cases = [
            ([outcome(a, True), outcome(b, True)], "up"),
            ([outcome(a, True), outcome(b, False, error="timeout")], "degraded"),
            ([outcome(a, False, error="404"), outcome(b, False, error="404")], "down"),
        ]
        for minute, (outcomes, expected) in enumerate(cases):
            snap = services.snapshot_record(
                service=service, taken_at=T0 + timedelta(minutes=minute), outcomes=outcomes
            )
            assert snap.status == expected
            assert snap.results.count() == 2

    def test_results_between_returns_only_that_service_and_window(self):
        service, other = ServiceFactory(), ServiceFactory()
        check, other_check = HealthCheckFactory(service=service), HealthCheckFactory(service=other)
        for minute in range(10):
            for svc, chk in ((service, check), (other, other_check)):
                services.snapshot_record(
                    service=svc,
                    taken_at=T0 + timedelta(minutes=minute),
                    outcomes=[services.ProbeOutcome(chk, True)],
                )
        found = selectors.results_between(
            service=service, start=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=5)
        )
        assert [r.taken_at.minute - T0.minute for r in found] == [2, 3, 4, 5]
        assert {r.service_id for r in found} == {service.pk}


@pytest.mark.postgres
def test_results_of_a_service_in_a_window_is_an_index_range_scan():
    services_ = [ServiceFactory() for _ in range(20)]
    checks = [HealthCheckFactory(service=s) for s in services_]
    snapshots = HealthSnapshot.objects.bulk_create(
        HealthSnapshot(service=s, taken_at=T0 + timedelta(minutes=m), status="up")
        for s in services_
        for m in range(500)
    )
    check_of = {c.service_id: c for c in checks}
    CheckResult.objects.bulk_create(
        CheckResult(
            snapshot=snap,
            health_check=check_of[snap.service_id],
            service_id=snap.service_id,
            taken_at=snap.taken_at,
            ok=True,
        )
        for snap in snapshots
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deployments_checkresult")
    plan = selectors.results_between(
        service=services_[3], start=T0 + timedelta(minutes=100), end=T0 + timedelta(minutes=130)
    ).explain()
    assert "result_service_time_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
