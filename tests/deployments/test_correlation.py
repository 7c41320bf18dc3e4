"""Correlation reads: deployments around a moment, the suspect, the last known good, the health
around an incident, and the rollback command."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments import selectors
from deployments.models import Deployment, Environment, HealthSnapshot, Service
from deployments.services import ProbeOutcome, snapshot_record
from tests.factories import (
    T0,
    ChangeFactory,
    DeploymentFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

ERROR = "Expected HTTP 200, got 404 Not Found."


def at(minutes: float) -> datetime:
    """A moment relative to T0, the incident's start in these tests."""
    return T0 + timedelta(minutes=minutes)


class System:
    """A service with production and preview, and health checks probed through snapshot_record."""

    good: Deployment  # the last known good deployment, where a test sets one

    def __init__(self, checks: int = 2, template: str = "rollback {external_id}") -> None:
        self.service: Service = ServiceFactory()
        self.production: Environment = EnvironmentFactory(
            service=self.service, rollback_command_template=template
        )
        self.preview: Environment = EnvironmentFactory(
            service=self.service, name="preview", kind=Environment.Kind.PREVIEW
        )
        self.checks = [
            HealthCheckFactory(service=self.service, name=f"Check {i}", order=i)
            for i in range(checks)
        ]

    def snap(self, minutes: float, failing: Iterable[int] = ()) -> HealthSnapshot:
        failing = set(failing)
        return snapshot_record(
            service=self.service,
            taken_at=at(minutes),
            outcomes=[
                ProbeOutcome(
                    health_check=check,
                    ok=i not in failing,
                    status_code=404 if i in failing else 200,
                    error=f"{ERROR} (at {minutes})" if i in failing else "",
                )
                for i, check in enumerate(self.checks)
            ],
        )

    def snaps(
        self, first: float, last: float, failing: Iterable[int] = (), every: float = 1
    ) -> None:
        failing = tuple(failing)
        minute = first
        while minute <= last:
            self.snap(minute, failing)
            minute += every

    def deploy(
        self,
        finished: float,
        *,
        environment: Environment | None = None,
        status: str = Deployment.Status.SUCCEEDED,
        health: str = Deployment.Health.HEALTHY,
        **fields,
    ) -> Deployment:
        return DeploymentFactory(
            environment=environment or self.production,
            status=status,
            health=health,
            started_at=at(finished - 1),
            finished_at=at(finished),
            **fields,
        )


class TestDeploymentsAround:
    def test_the_window_reaches_back_the_configured_hours_and_on_to_the_end(self, settings):
        settings.HINDSIGHT_CORRELATION_WINDOW_HOURS = 2
        system = System()
        too_early = system.deploy(-121 + 1)  # started 121 minutes before the start
        first = system.deploy(-119 + 1)
        preview = system.deploy(-5, environment=system.preview)
        during = system.deploy(10)
        too_late = system.deploy(32)
        found = list(selectors.deployments_around(service=system.service, start=T0, end=at(30)))
        assert found == [first, preview, during]
        assert too_early.started_at == at(-121)
        assert too_late.started_at == at(31)

    def test_before_overrides_the_setting_and_the_end_defaults_to_now(self):
        system = System()
        early = system.deploy(-50)
        recent = system.deploy(-5)
        found = list(
            selectors.deployments_around(
                service=system.service, start=T0, before=timedelta(minutes=30)
            )
        )
        assert found == [recent]
        assert early not in found

    def test_other_services_deployments_are_left_out(self):
        system = System()
        mine = system.deploy(-5)
        DeploymentFactory(started_at=at(-5))
        assert list(selectors.deployments_around(service=system.service, start=T0)) == [mine]


class TestSuspect:
    def test_the_last_deployment_before_health_turned_red_is_the_suspect(self):
        system = System()
        system.snaps(-10, -3)
        older = system.deploy(-8)
        culprit = system.deploy(-2.5)
        system.snaps(-2, 5, failing=[0, 1])
        system.deploy(4)  # the fix, after red
        suspect = selectors.suspect_deployment(service=system.service, before=T0)
        assert suspect == culprit != older

    def test_red_starts_at_the_first_turn_not_the_latest(self):
        # up -> degraded at -4, degraded -> down at -1: the trouble started at -4.
        system = System()
        system.snaps(-10, -5)
        culprit = system.deploy(-4.5)
        system.snap(-4, failing=[0])
        later = system.deploy(-2)
        system.snap(-1, failing=[0, 1])
        assert selectors.health_turned_red(service=system.service, before=T0) == at(-4)
        assert selectors.suspect_deployment(service=system.service, before=T0) == culprit
        assert later != culprit

    def test_an_earlier_recovered_outage_does_not_count(self):
        system = System()
        system.snap(-30, failing=[0, 1])
        system.snaps(-29, -6)
        culprit = system.deploy(-5.5)
        system.snaps(-5, 0, failing=[1])
        assert selectors.health_turned_red(service=system.service, before=T0) == at(-5)
        assert selectors.suspect_deployment(service=system.service, before=T0) == culprit

    def test_without_change_rows_the_first_failing_snapshot_marks_red(self):
        # Snapshots stored before health changes were recorded: only their statuses remain.
        system = System()
        for minute, status in ((-6, "up"), (-5, "up"), (-3, "down"), (-2, "down")):
            HealthSnapshot.objects.create(
                service=system.service, taken_at=at(minute), status=status
            )
        culprit = system.deploy(-4)
        system.deploy(-2.5)
        assert selectors.health_turned_red(service=system.service, before=T0) == at(-3)
        assert selectors.suspect_deployment(service=system.service, before=T0) == culprit

    def test_an_incident_declared_before_the_checks_noticed_looks_up_to_until(self):
        system = System()
        system.snaps(-5, 0)
        culprit = system.deploy(1)
        system.snaps(2, 4, failing=[0])
        assert selectors.health_turned_red(service=system.service, before=T0) is None
        assert selectors.suspect_deployment(service=system.service, before=T0) is None
        found = selectors.suspect_deployment(service=system.service, before=T0, until=at(10))
        assert found == culprit

    def test_without_any_health_the_last_deployment_before_the_start_is_suspected(self):
        system = System()
        culprit = system.deploy(-3)
        system.deploy(2)
        assert selectors.suspect_deployment(service=system.service, before=T0) == culprit

    def test_production_is_suspected_before_a_later_preview_deployment(self):
        system = System()
        production = system.deploy(-30)
        system.deploy(-1, environment=system.preview)
        assert selectors.suspect_deployment(service=system.service, before=T0) == production

    def test_failed_and_unfinished_deployments_are_never_suspects(self):
        system = System()
        shipped = system.deploy(-20)
        system.deploy(-2, status=Deployment.Status.FAILED)
        DeploymentFactory(environment=system.production, started_at=at(-1), finished_at=None)
        assert selectors.suspect_deployment(service=system.service, before=T0) == shipped

    def test_a_deployment_older_than_the_window_is_not_a_suspect(self, settings):
        settings.HINDSIGHT_CORRELATION_WINDOW_HOURS = 1
        system = System()
        system.deploy(-61)
        assert selectors.suspect_deployment(service=system.service, before=T0) is None


class TestLastKnownGood:
    @pytest.fixture(autouse=True)
    def thirty_minutes(self, settings):
        settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES = 30

    def lkg(self, system: System, before: float | None = 0) -> Deployment | None:
        moment = None if before is None else at(before)
        return selectors.last_known_good(environment=system.production, before=moment)

    def test_a_healthy_deployment_that_stayed_healthy_is_known_good(self):
        system = System()
        good = system.deploy(-100)
        system.snaps(-95, -60, every=5)
        assert self.lkg(system) == good

    def test_the_latest_qualifying_deployment_wins(self):
        system = System()
        system.deploy(-200)
        good = system.deploy(-100)
        system.snaps(-199, -60, every=5)
        assert self.lkg(system) == good

    def test_a_failing_snapshot_within_the_span_disqualifies(self):
        system = System()
        older = system.deploy(-200)
        system.snaps(-199, -150, every=5)
        flaky = system.deploy(-100)
        system.snaps(-99, -60, every=5)
        system.snap(-80.5, failing=[1])
        assert self.lkg(system) == older != flaky

    def test_a_failure_after_the_span_does_not_disqualify(self):
        system = System()
        good = system.deploy(-100)
        system.snaps(-99, -71, every=5)
        system.snap(-69, failing=[0])
        assert self.lkg(system) == good

    def test_no_snapshot_in_the_span_is_no_evidence(self):
        system = System()
        system.deploy(-100)
        system.snaps(-60, -50, every=5)  # healthy, but after the span
        assert self.lkg(system) is None

    def test_a_snapshot_at_the_finish_itself_is_not_counted(self):
        # Taken the same instant the deployment finished, it still saw the old one.
        system = System()
        good = system.deploy(-100)
        system.snap(-100, failing=[0])
        system.snaps(-99, -70, every=5)
        assert self.lkg(system) == good

    @pytest.mark.parametrize(
        "fields",
        [
            {"health": Deployment.Health.UNKNOWN},
            {"health": Deployment.Health.UNHEALTHY},
            {"status": Deployment.Status.FAILED},
            {"status": Deployment.Status.ROLLED_BACK},
        ],
    )
    def test_only_succeeded_deployments_whose_smoke_run_passed_count(self, fields):
        system = System()
        system.deploy(-100, **fields)
        system.snaps(-99, -60, every=5)
        assert self.lkg(system) is None

    def test_the_span_must_be_over_as_of_the_moment(self):
        system = System()
        older = system.deploy(-200)
        system.snaps(-199, -150, every=5)
        recent = system.deploy(-20)
        system.snaps(-19, 0)
        assert self.lkg(system) == older
        assert self.lkg(system, before=15) == recent

    def test_as_of_an_earlier_moment_a_later_deployment_is_not_seen(self):
        system = System()
        first = system.deploy(-300)
        system.snaps(-299, -260, every=5)
        second = system.deploy(-100)
        system.snaps(-99, -60, every=5)
        assert self.lkg(system, before=-120) == first
        assert self.lkg(system, before=None) == second

    def test_a_deployment_rolled_back_later_counts_as_it_was_then(self):
        system = System()
        good = system.deploy(-100, status=Deployment.Status.ROLLED_BACK)
        system.snaps(-99, -60, every=5)
        system.deploy(20, rollback_of=good)
        assert self.lkg(system, before=0) == good
        assert self.lkg(system, before=30) is None

    def test_other_environments_do_not_count(self):
        system = System()
        system.deploy(-100, environment=system.preview)
        system.snaps(-99, -60, every=5)
        assert self.lkg(system) is None

    def test_it_is_one_query(self, django_assert_num_queries):
        system = System()
        for i in range(5):
            system.deploy(-300 + i * 50)
        system.snaps(-300, -60, every=5)
        with django_assert_num_queries(1):
            assert self.lkg(system) is not None


class TestRollbackCommand:
    def command(self, template: str, **fields) -> selectors.RollbackCommand | None:
        system = System(template=template)
        fields.setdefault("external_id", "5be8c75c-4018")
        fields.setdefault("commit_sha", "dc8023d" + "0" * 33)
        return selectors.rollback_command(deployment=system.deploy(-10, **fields))

    def test_placeholders_are_filled(self):
        command = self.command("wrangler rollback {external_id} # {commit}")
        assert command == selectors.RollbackCommand(
            f"wrangler rollback 5be8c75c-4018 # dc8023d{'0' * 33}", True
        )

    def test_a_value_with_shell_characters_is_quoted(self):
        command = self.command("rollback {external_id}", external_id="x; rm -rf ~")
        assert command is not None
        assert command.text == "rollback 'x; rm -rf ~'"
        assert command.rendered

    @pytest.mark.parametrize(
        ("template", "named"),
        [
            ("rollback {deployment_id}", "{deployment_id}"),
            ("rollback {external_id.__class__}", "{external_id.__class__}"),
            ("rollback {commit!r}", "{commit!r}"),
            ("rollback {commit:>60}", "{commit}"),
            ("rollback {0}", "{0}"),
        ],
    )
    def test_an_unknown_placeholder_leaves_the_template_as_it_is(self, template, named):
        command = self.command(template)
        assert command is not None
        assert command.text == template
        assert not command.rendered
        assert named in command.problem
        assert "{external_id}" in command.problem

    @pytest.mark.parametrize("template", ["rollback {external_id", "rollback }", "rollback {"])
    def test_an_unbalanced_brace_is_shown_unrendered(self, template):
        command = self.command(template)
        assert command is not None
        assert (command.text, command.rendered) == (template, False)
        assert command.problem

    def test_doubled_braces_are_literal(self):
        command = self.command("echo {{x}} {commit}")
        assert command is not None
        assert command.text == f"echo {{x}} dc8023d{'0' * 33}"

    def test_no_template_means_no_command(self):
        assert self.command("") is None


class TestBracketing:
    def test_the_last_healthy_before_the_failures_per_check_and_the_first_healthy_after(self):
        system = System(checks=3)
        system.snaps(-10, -3)
        system.snaps(-2, 3, failing=[0])
        system.snaps(4, 6, failing=[0, 2])
        system.snaps(7, 12)
        found = selectors.snapshots_bracketing(service=system.service, start=T0, end=at(8))
        assert found.before is not None
        assert found.after is not None
        assert found.before.taken_at == at(-3)
        assert found.after.taken_at == at(7)
        assert [f.name for f in found.failing] == ["Check 0", "Check 2"]
        first, third = found.failing
        assert (first.first_failed_at, first.last_failed_at, first.count) == (at(-2), at(6), 9)
        assert (third.first_failed_at, third.last_failed_at, third.count) == (at(4), at(6), 3)
        assert first.last_error == f"{ERROR} (at 6)"
        assert (found.first_failed_at, found.last_failed_at) == (at(-2), at(6))

    def test_a_service_still_failing_has_no_healthy_snapshot_after(self):
        system = System()
        system.snaps(-3, -1)
        system.snaps(0, 5, failing=[1])
        found = selectors.snapshots_bracketing(service=system.service, start=T0)
        assert found.before is not None
        assert found.before.taken_at == at(-1)
        assert found.after is None
        assert [f.count for f in found.failing] == [6]

    def test_without_snapshots_everything_is_empty(self):
        found = selectors.snapshots_bracketing(service=System().service, start=T0, end=at(5))
        assert (found.before, found.failing, found.after) == (None, [], None)

    @pytest.mark.parametrize("failing_minutes", [1, 40])
    def test_it_costs_three_queries_however_many_snapshots(self, failing_minutes):
        system = System(checks=4)
        system.snaps(-5, -1)
        system.snaps(0, failing_minutes - 1, failing=[0, 1, 2, 3])
        system.snaps(failing_minutes, failing_minutes + 5)
        with CaptureQueriesContext(connection) as captured:
            found = selectors.snapshots_bracketing(
                service=system.service, start=T0, end=at(failing_minutes + 5)
            )
        assert len(captured.captured_queries) == 3
        assert [f.count for f in found.failing] == [failing_minutes] * 4


class TestCorrelation:
    def build(self, deployments: int) -> System:
        system = System(checks=3)
        good = system.deploy(-600)
        system.snaps(-599, -560, every=5)
        for i in range(deployments):
            system.deploy(-500 + i * 5, health=Deployment.Health.UNKNOWN)
        system.snaps(-10, -4)
        system.deploy(-3.5, health=Deployment.Health.UNHEALTHY)
        system.snaps(-3, 10, failing=[0, 1])
        system.snaps(11, 14)
        system.good = good
        return system

    def test_it_puts_suspect_last_known_good_and_health_together(self):
        system = self.build(2)
        found = selectors.correlation(service=system.service, start=T0, end=at(12))
        assert found.suspect == found.deployments[-1]
        assert found.suspect.health == Deployment.Health.UNHEALTHY
        assert found.last_known_good == system.good
        assert found.rollback is not None
        assert found.rollback.text == f"rollback {system.good.external_id}"
        assert found.bracketing.before is not None
        assert found.bracketing.after is not None
        assert found.bracketing.before.taken_at == at(-4)
        assert found.bracketing.after.taken_at == at(11)
        assert found.window_start == T0 - timedelta(hours=24)

    def test_its_query_count_does_not_grow_with_deployments_changes_or_snapshots(self):
        counts = []
        for size in (1, 50):
            system = self.build(size)
            for i in range(size):
                ChangeFactory(service=system.service, at=at(-400 + i))
            with CaptureQueriesContext(connection) as captured:
                found = selectors.correlation(service=system.service, start=T0, end=at(12))
            assert len(found.deployments) == size + 2
            assert len(found.changes) == size
            assert found.suspect_change == found.changes[-1]
            counts.append(len(captured.captured_queries))
        # Red turn (1), suspect (1), last known good (1), deployments (1), health (3), changes
        # (1) and the suspect change (1).
        assert counts == [9, 9], counts

    def test_a_service_without_production_or_deployments_still_answers(self):
        service = ServiceFactory()
        found = selectors.correlation(service=service, start=T0, end=at(5))
        assert (found.suspect, found.last_known_good, found.rollback) == (None, None, None)
        assert found.deployments == []
        assert found.bracketing == selectors.Bracketing(before=None, failing=[], after=None)
