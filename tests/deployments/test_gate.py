"""The deployment gate: each rule passing and blocking with what it found, warn-only rules, the
seed's outage as the gate would have answered it, the record of every answer, and its cost."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import plugins
from deployments import gate, services
from deployments.models import Deployment, Environment, GateRule, GateRun, HealthCheck
from tests.factories import (
    T0,
    EnvironmentFactory,
    HealthCheckFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

KB = 1024


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def build(*, worker: int | None = 400 * KB, worker_from: str = "new", extra: int = 0) -> list[dict]:
    """A Pages build: routes, an asset, the compiled worker unless None, and `extra` files."""
    files = [
        {"path": "_routes.json", "size": 162, "sha256": digest("routes")},
        {"path": "static/app.js", "size": 88_431, "sha256": digest(f"app {worker_from}")},
    ]
    if worker is not None:
        files.append(
            {"path": "_worker.js", "size": worker, "sha256": digest(f"worker {worker_from}")}
        )
    files += [
        {"path": f"static/img/{n}.png", "size": n + 1, "sha256": digest(f"img {n}")}
        for n in range(extra)
    ]
    return files


@pytest.fixture
def production() -> Environment:
    return EnvironmentFactory(service__slug="moodmash", name="production")


@pytest.fixture
def preview(production) -> Environment:
    return EnvironmentFactory(
        service=production.service, name="preview", kind=Environment.Kind.PREVIEW
    )


def rule(environment: Environment, kind: str, **fields) -> GateRule:
    return services.gate_rule_create(environment=environment, kind=kind, **fields)


def ask(environment: Environment, manifest: list[dict], *, commit: str = "c0ffee1", **kw):
    return services.gate_evaluate(
        service=environment.service,
        environment=environment,
        commit_sha=commit,
        manifest=manifest,
        **kw,
    )


def shipped(environment: Environment, manifest: list[dict], *, commit: str, **kw) -> Deployment:
    deployment, _ = services.deployment_record(
        environment=environment,
        external_id=kw.pop("external_id", f"deploy-{commit}"),
        commit_sha=commit,
        status=kw.pop("status", Deployment.Status.SUCCEEDED),
        manifest=manifest,
        started_at=kw.pop("started_at", T0),
        **kw,
    )
    return deployment


def only_reason(run: GateRun) -> dict:
    assert len(run.reasons) == 1, run.reasons
    return run.reasons[0]


class TestRequiredArtifact:
    def test_missing_worker_blocks_and_names_it(self, production):
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="_worker.js", min_size=100 * KB)
        run = ask(production, build(worker=None))
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert reason["outcome"] == "block"
        assert reason["rule"] == "required_artifact"
        assert "_worker.js is missing" in reason["message"]
        assert reason["found"]["path"] == "_worker.js"
        assert reason["found"]["present"] is False

    def test_a_50_kb_worker_blocks_for_its_size(self, production):
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="_worker.js", min_size=100 * KB)
        run = ask(production, build(worker=50 * KB))
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert "51,200 bytes, below the minimum of 102,400 bytes" in reason["message"]
        assert reason["found"]["size"] == 50 * KB
        assert reason["found"]["min_size"] == 100 * KB

    def test_a_file_above_the_maximum_blocks(self, production):
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="_routes.json", max_size=100)
        reason = only_reason(ask(production, build()))
        assert reason["outcome"] == "block"
        assert "above the maximum of 100 bytes" in reason["message"]

    def test_a_present_file_within_its_sizes_passes(self, production):
        rule(
            production,
            GateRule.Kind.REQUIRED_ARTIFACT,
            path="_worker.js",
            min_size=100 * KB,
            max_size=1024 * KB,
        )
        run = ask(production, build(worker=400 * KB))
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.PASS
        assert reason["outcome"] == "pass"
        assert reason["found"]["present"] is True
        assert reason["found"]["size"] == 400 * KB


class TestWarnOnly:
    def test_a_warn_only_rule_never_blocks_but_says_what_it_found(self, production):
        rule(
            production,
            GateRule.Kind.REQUIRED_ARTIFACT,
            path="_worker.js",
            action=GateRule.Action.WARN,
        )
        run = ask(production, build(worker=None))
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.PASS
        assert reason["outcome"] == "warn"
        assert reason["action"] == "warn"
        assert "_worker.js is missing" in reason["message"]

    def test_one_blocking_rule_blocks_whatever_the_warnings(self, production):
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="a.js", action="warn", order=1)
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="_worker.js", order=2)
        run = ask(production, build(worker=None))
        assert [r["outcome"] for r in run.reasons] == ["warn", "block"]
        assert run.verdict == GateRun.Verdict.BLOCK


class TestStaleBuild:
    def test_the_same_worker_under_a_new_commit_blocks(self, production):
        shipped(production, build(worker_from="dec-19"), commit="aaaa111")
        rule(production, GateRule.Kind.STALE_BUILD, path="_worker.js")
        run = ask(production, build(worker_from="dec-19"), commit="bbbb222")
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert (
            "_worker.js is byte for byte the one the previous deployment shipped"
            in (reason["message"])
        )
        assert "aaaa111" in reason["message"]
        assert reason["found"]["previous_deployment"]["commit_sha"] == "aaaa111"
        assert reason["found"]["sha256"] == digest("worker dec-19")

    def test_a_rebuilt_worker_passes(self, production):
        shipped(production, build(worker_from="dec-19"), commit="aaaa111")
        rule(production, GateRule.Kind.STALE_BUILD, path="_worker.js")
        reason = only_reason(ask(production, build(worker_from="jan-02"), commit="bbbb222"))
        assert reason["outcome"] == "pass"
        assert "differs from the previous deployment's" in reason["message"]

    def test_redeploying_the_same_commit_passes(self, production):
        shipped(production, build(worker_from="dec-19"), commit="aaaa111")
        rule(production, GateRule.Kind.STALE_BUILD, path="_worker.js")
        reason = only_reason(ask(production, build(worker_from="dec-19"), commit="aaaa111"))
        assert reason["outcome"] == "pass"
        assert "a redeploy" in reason["message"]

    def test_only_the_latest_deployment_that_got_out_counts(self, production):
        shipped(production, build(worker_from="old"), commit="aaaa111", started_at=T0)
        shipped(
            production,
            build(worker_from="dec-19"),
            commit="cccc333",
            started_at=T0 + timedelta(hours=1),
            status=Deployment.Status.FAILED,
        )
        rule(production, GateRule.Kind.STALE_BUILD, path="_worker.js")
        reason = only_reason(ask(production, build(worker_from="dec-19"), commit="bbbb222"))
        assert reason["outcome"] == "pass"
        assert reason["found"]["previous_deployment"]["commit_sha"] == "aaaa111"

    def test_the_whole_build_is_compared_when_the_rule_names_no_file(self, production):
        shipped(production, build(worker_from="dec-19"), commit="aaaa111")
        rule(production, GateRule.Kind.STALE_BUILD)
        reason = only_reason(ask(production, build(worker_from="dec-19"), commit="bbbb222"))
        assert reason["outcome"] == "block"
        assert reason["message"].startswith("the whole build is byte for byte")

    def test_without_an_earlier_deployment_there_is_nothing_to_compare(self, production):
        rule(production, GateRule.Kind.STALE_BUILD, path="_worker.js")
        reason = only_reason(ask(production, build()))
        assert reason["outcome"] == "pass"
        assert reason["found"]["previous_deployment"] is None


class TestPreviewFirst:
    def test_production_without_a_healthy_preview_deployment_blocks(self, production, preview):
        rule(production, GateRule.Kind.PREVIEW_FIRST)
        unhealthy = shipped(preview, build(), commit="c0ffee1")
        Deployment.objects.filter(pk=unhealthy.pk).update(health=Deployment.Health.UNHEALTHY)
        run = ask(production, build(), commit="c0ffee1")
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert "has a succeeded, healthy deployment in preview" in reason["message"]
        assert reason["found"]["preview_environments"] == ["preview"]

    def test_a_healthy_preview_deployment_of_the_commit_lets_it_through(self, production, preview):
        rule(production, GateRule.Kind.PREVIEW_FIRST)
        tried = shipped(preview, build(worker_from="other"), commit="c0ffee1")
        Deployment.objects.filter(pk=tried.pk).update(health=Deployment.Health.HEALTHY)
        reason = only_reason(ask(production, build(), commit="c0ffee1"))
        assert reason["outcome"] == "pass"
        assert reason["found"]["preview_deployment"]["external_id"] == tried.external_id

    def test_the_same_build_under_another_commit_counts_too(self, production, preview):
        rule(production, GateRule.Kind.PREVIEW_FIRST)
        tried = shipped(preview, build(), commit="1234abc")
        Deployment.objects.filter(pk=tried.pk).update(health=Deployment.Health.HEALTHY)
        assert only_reason(ask(production, build(), commit="c0ffee1"))["outcome"] == "pass"

    def test_a_service_without_preview_environment_is_told_so(self, production):
        rule(production, GateRule.Kind.PREVIEW_FIRST)
        reason = only_reason(ask(production, build()))
        assert reason["outcome"] == "block"
        assert "moodmash has no preview environment" in reason["message"]

    def test_it_applies_to_production_only(self, preview):
        rule(preview, GateRule.Kind.PREVIEW_FIRST)
        assert only_reason(ask(preview, build()))["outcome"] == "pass"


def snapshot(environment: Environment, *oks: bool, minutes: int = 0, checks=None):
    checks = checks or [
        HealthCheckFactory(
            service=environment.service, environment=environment, name=f"{environment.name} c{i}"
        )
        for i in range(len(oks))
    ]
    services.snapshot_record(
        service=environment.service,
        taken_at=T0 + timedelta(minutes=minutes),
        outcomes=[
            services.ProbeOutcome(health_check=c, ok=ok, error="" if ok else "HTTP 404")
            for c, ok in zip(checks, oks, strict=True)
        ],
    )
    return checks


class TestHealthBeforePromotion:
    @pytest.fixture(autouse=True)
    def soon_after(self, time_machine):
        """Five minutes after T0: the snapshots the tests take are fresh."""
        time_machine.move_to(T0 + timedelta(minutes=5), tick=False)

    def test_a_down_environment_blocks_a_promotion(self, production):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        checks = snapshot(production, True, True, minutes=0)
        snapshot(production, False, False, minutes=1, checks=checks)
        run = ask(production, build())
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert reason["found"]["status"] == "down"
        assert reason["found"]["failing_checks"] == ["production c0", "production c1"]
        assert (
            "production is down (latest check at 2026-01-02 06:03 UTC, 4 minutes ago"
            in (reason["message"])
        )

    def test_degraded_blocks_too(self, production):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        snapshot(production, True, False)
        reason = only_reason(ask(production, build()))
        assert reason["outcome"] == "block"
        assert reason["found"]["status"] == "degraded"

    def test_a_rollback_passes_a_failing_environment(self, production):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        snapshot(production, False, False)
        run = ask(production, build(), is_rollback=True)
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.PASS
        assert reason["found"] == {
            "status": "down",
            "measured_status": "down",
            "taken_at": T0.isoformat(),
            "age_seconds": 300,
            "failing_checks": ["production c0", "production c1"],
            "rollback": True,
        }
        assert "rollback" in reason["message"]

    def test_only_the_latest_snapshot_counts(self, production):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        checks = snapshot(production, False, False, minutes=0)
        snapshot(production, True, True, minutes=1, checks=checks)
        assert only_reason(ask(production, build()))["outcome"] == "pass"

    def test_another_environments_failing_checks_do_not_count(self, production, preview):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        snapshot(production, True, minutes=0)
        snapshot(preview, False, minutes=1)
        reason = only_reason(ask(production, build()))
        assert reason["outcome"] == "pass"
        assert reason["found"]["taken_at"] == T0.isoformat()

    def test_no_measurement_warns_without_blocking(self, production):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        run = ask(production, build())
        assert run.verdict == GateRun.Verdict.PASS
        assert only_reason(run)["outcome"] == "warn"

    def test_an_up_eleven_months_old_is_unknown_and_blocks_saying_how_old(
        self, production, time_machine
    ):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        snapshot(production, True, True, minutes=46)
        time_machine.move_to(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False)
        run = ask(production, build())
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert reason["found"]["status"] == "unknown"
        assert reason["found"]["measured_status"] == "up"
        assert "production's health is unknown: last check 11 months ago" in reason["message"]
        assert "2026-01-02 06:48 UTC" in reason["message"]
        assert "is up" not in reason["message"]

    def test_unknown_health_only_warns_where_the_rule_says_warn(self, production, time_machine):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION, action=GateRule.Action.WARN)
        snapshot(production, True)
        time_machine.move_to(T0 + timedelta(days=2), tick=False)
        run = ask(production, build())
        assert run.verdict == GateRun.Verdict.PASS
        assert only_reason(run)["outcome"] == "warn"
        assert "last check 2 days ago" in only_reason(run)["message"]

    def test_a_rollback_goes_out_whatever_the_health_is_known_to_be(self, production, time_machine):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        snapshot(production, False)
        time_machine.move_to(T0 + timedelta(days=2), tick=False)
        reason = only_reason(ask(production, build(), is_rollback=True))
        assert (reason["outcome"], reason["found"]["status"]) == ("pass", "unknown")

    @pytest.mark.parametrize(
        ("interval", "age", "status"),
        [
            (600, timedelta(minutes=29), "up"),
            (600, timedelta(minutes=31), "unknown"),  # three intervals of ten minutes
            (60, timedelta(minutes=9), "up"),  # never less than ten minutes
            (60, timedelta(minutes=11), "unknown"),
        ],
    )
    def test_health_is_fresh_for_three_probe_intervals_and_at_least_ten_minutes(
        self, production, time_machine, interval, age, status
    ):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        check = HealthCheckFactory(
            service=production.service, environment=production, interval_seconds=interval
        )
        snapshot(production, True, checks=[check])
        time_machine.move_to(T0 + age, tick=False)
        reason = only_reason(ask(production, build()))
        assert reason["found"]["status"] == status
        assert reason["outcome"] == ("pass" if status == "up" else "block")

    def test_the_shortest_interval_of_the_service_sets_the_pace(self, production, time_machine):
        # The scheduler probes every check at the service's shortest interval, including a
        # check of another environment: a slow check of this one is not an excuse to go quiet.
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        check = HealthCheckFactory(
            service=production.service, environment=production, interval_seconds=3600
        )
        HealthCheckFactory(service=production.service, interval_seconds=60, enabled=True)
        snapshot(production, True, checks=[check])
        time_machine.move_to(T0 + timedelta(minutes=20), tick=False)
        assert only_reason(ask(production, build()))["found"]["status"] == "unknown"

    def test_with_every_check_switched_off_old_answers_are_unknown(self, production):
        rule(production, GateRule.Kind.HEALTH_BEFORE_PROMOTION)
        checks = snapshot(production, True)
        HealthCheck.objects.filter(pk__in=[c.pk for c in checks]).update(enabled=False)
        reason = only_reason(ask(production, build()))
        assert (reason["outcome"], reason["found"]["status"]) == ("block", "unknown")


class TestTheSeedOutage:
    """2 January: the worker had not been rebuilt since 19 December, then it was gone."""

    @pytest.fixture
    def gate_rules(self, production):
        rule(production, "required_artifact", path="_worker.js", min_size=100 * KB, order=1)
        rule(production, "required_artifact", path="_routes.json", order=2)
        rule(production, "stale_build", path="_worker.js", order=3)

    def test_the_build_without_a_worker_is_blocked_naming_it(self, production, gate_rules):
        shipped(production, build(worker_from="dec-19"), commit="dc8023d")
        run = ask(production, build(worker=None, worker_from="jan-02"), commit="e4f5a6b")
        assert run.verdict == GateRun.Verdict.BLOCK
        blocked = [r for r in run.reasons if r["outcome"] == "block"]
        assert len(blocked) == 1
        assert blocked[0]["found"]["path"] == "_worker.js"

    def test_the_stale_worker_of_the_weeks_before_is_blocked(self, production, gate_rules):
        shipped(production, build(worker_from="dec-19"), commit="aaaa111")
        run = ask(production, build(worker_from="dec-19"), commit="dc8023d")
        assert run.verdict == GateRun.Verdict.BLOCK
        assert [r["outcome"] for r in run.reasons] == ["pass", "pass", "block"]


class TestTheRecord:
    def test_a_pass_and_a_block_are_both_stored_with_who_asked(self, production):
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="_worker.js")
        asker = UserFactory()
        passed = ask(production, build(), requested_by=asker)
        blocked = ask(production, build(worker=None), commit="b10cced")
        stored = {run.pk: run for run in GateRun.objects.all()}
        assert set(stored) == {passed.pk, blocked.pk}
        assert stored[passed.pk].verdict == "pass"
        assert stored[passed.pk].requested_by == asker
        assert stored[passed.pk].artifact_count == 3
        assert stored[passed.pk].manifest_digest == services.manifest_digest(build())
        assert stored[blocked.pk].verdict == "block"
        assert stored[blocked.pk].commit_sha == "b10cced"
        assert stored[blocked.pk].reasons[0]["found"]["present"] is False

    def test_rules_run_in_order_and_disabled_ones_not_at_all(self, production):
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="b.js", order=2)
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="a.js", order=1)
        rule(production, GateRule.Kind.REQUIRED_ARTIFACT, path="off.js", order=0, enabled=False)
        run = ask(production, build())
        assert [r["found"]["path"] for r in run.reasons] == ["a.js", "b.js"]

    def test_an_environment_without_rules_passes_with_no_reasons(self, production):
        run = ask(production, build())
        assert run.verdict == GateRun.Verdict.PASS
        assert run.reasons == []

    def test_a_kind_nobody_implements_blocks_and_says_so(self, production, monkeypatch):
        rule(production, GateRule.Kind.STALE_BUILD, action=GateRule.Action.WARN)
        monkeypatch.delitem(plugins._gate_rules, GateRule.Kind.STALE_BUILD)
        run = ask(production, build())
        reason = only_reason(run)
        assert run.verdict == GateRun.Verdict.BLOCK
        assert reason["outcome"] == "block"
        assert "No implementation of the stale_build rule is installed" in reason["message"]

    def test_a_rule_that_fails_blocks_instead_of_crashing(self, production, monkeypatch):
        rule(production, GateRule.Kind.STALE_BUILD)

        def broken(rule, context):
            raise RuntimeError("boom")

        monkeypatch.setitem(plugins._gate_rules, GateRule.Kind.STALE_BUILD, broken)
        run = ask(production, build())
        assert run.verdict == GateRun.Verdict.BLOCK
        assert "failed with an error" in only_reason(run)["message"]

    def test_the_deployment_recorded_after_the_answer_is_linked_to_it(self, production):
        earlier = ask(production, build(), commit="c0ffee1")
        latest = ask(production, build(), commit="c0ffee1")
        other_build = ask(production, build(worker_from="other"), commit="c0ffee1")
        deployment = shipped(production, build(), commit="c0ffee1")
        linked = dict(GateRun.objects.values_list("pk", "deployment_id"))
        assert linked == {earlier.pk: None, latest.pk: deployment.pk, other_build.pk: None}

    def test_the_gate_costs_the_same_for_1_and_500_artifacts(self, production, preview):
        shipped(production, build(worker_from="dec-19"), commit="aaaa111")
        rule(production, "required_artifact", path="_worker.js", min_size=100 * KB)
        rule(production, "stale_build", path="_worker.js")
        rule(production, "stale_build")
        rule(production, "preview_first")
        rule(production, "health_before_promotion")
        rule(production, "blocking_action_items")

        def cost(manifest: list[dict]) -> int:
            with CaptureQueriesContext(connection) as captured:
                ask(production, manifest, commit="bbbb222")
            return len(captured)

        one = cost(build(extra=0)[2:])
        many = cost(build(extra=497))
        assert len(build(extra=497)) == 500
        # The rules (1); a savepoint pair per rule (12) around its reads: two stale builds (2),
        # preview first (2), health (1), action items (1); the insert (1); its event in the
        # change feed (1) and the webhook endpoints that may follow it (1); and the service's own
        # savepoint pair inside the test's transaction (2).
        assert one == many == 24


class TestRuleConfiguration:
    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"kind": "required_artifact"}, "path", "needs the path"),
            ({"kind": "preview_first", "path": "a.js"}, "path", "Only required artifact"),
            ({"kind": "required_artifact", "path": "/etc/x"}, "path", "relative"),
            ({"kind": "stale_build", "path": "a/../b"}, "path", "normalised"),
            ({"kind": "stale_build", "min_size": 1}, "min_size", "Only required artifact"),
            (
                {"kind": "required_artifact", "path": "a", "min_size": 9, "max_size": 3},
                "max_size",
                "must not be below",
            ),
            ({"kind": "nonsense"}, "kind", "Choose one of"),
            ({"kind": "stale_build", "action": "maybe"}, "action", "Choose one of"),
        ],
    )
    def test_a_rule_that_cannot_work_is_refused_by_field(self, fields, field, message):
        with pytest.raises(ValidationError) as excinfo:
            services.gate_rule_check(**fields)
        assert message in " ".join(excinfo.value.message_dict[field])

    def test_an_update_is_checked_against_the_whole_rule(self, production):
        existing = rule(production, "required_artifact", path="_worker.js", min_size=100)
        with pytest.raises(ValidationError) as excinfo:
            services.gate_rule_update(rule=existing, max_size=10)
        assert "max_size" in excinfo.value.message_dict
        services.gate_rule_update(rule=existing, max_size=1000, enabled=False)
        existing.refresh_from_db()
        assert (existing.max_size, existing.enabled) == (1000, False)

    def test_the_registry_knows_every_kind(self):
        assert gate.registered_kinds() == set(GateRule.Kind.values)

    def test_registering_a_second_implementation_is_refused(self):
        def another(rule: GateRule, context: gate.GateContext) -> gate.RuleOutcome:
            raise AssertionError("never runs: registering it is refused")

        with pytest.raises(ValueError, match="already has an implementation"):
            gate.register(GateRule.Kind.STALE_BUILD)(another)


# --- The environment's gate page ------------------------------------------------------------------


def gate_url(environment: Environment, suffix: str = "") -> str:
    return f"/system/{environment.service.slug}/{environment.name}/gate/{suffix}"


@pytest.fixture
def blocked_and_passed(production):
    rule(production, "required_artifact", path="_worker.js", min_size=100 * KB, order=1)
    rule(production, "preview_first", action="warn", order=2)
    blocked = ask(production, build(worker=None), commit="e4f5a6b")
    passed = ask(production, build(), commit="c0ffee1")
    return blocked, passed


class TestGatePage:
    def test_a_viewer_reads_rules_and_answers_without_controls(
        self, client, production, blocked_and_passed
    ):
        blocked, passed = blocked_and_passed
        client.force_login(user_with_role("viewer"))
        response = client.get(gate_url(production))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Required artifact" in html
        assert "<code>_worker.js</code>" in html
        assert f'id="gate-run-{blocked.pk}" class="blocked"' in html
        assert f'id="gate-run-{passed.pk}" class="passed"' in html
        assert "BLOCKED" in html
        assert "_worker.js is missing from the build" in html
        assert '<span class="outcome warn">warn</span>' in html
        assert "Add rule" not in html
        for control in ("/toggle", "/edit", "/delete"):
            assert control not in html

    def test_an_admin_sees_the_controls(self, client, production, blocked_and_passed):
        client.force_login(user_with_role("admin"))
        html = client.get(gate_url(production)).content.decode()
        first = GateRule.objects.order_by("order").first()
        assert first is not None
        assert "+ Add rule" in html
        assert gate_url(production, f"rules/{first.pk}/edit") in html
        assert gate_url(production, f"rules/{first.pk}/toggle") in html
        assert gate_url(production, f"rules/{first.pk}/delete") in html

    def test_the_page_needs_a_login(self, client, production):
        response = client.get(gate_url(production))
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")

    def test_an_unknown_environment_is_404(self, client, production):
        client.force_login(user_with_role("viewer"))
        assert client.get("/system/moodmash/staging/gate/").status_code == 404

    def test_the_page_costs_the_same_for_1_and_30_answers(
        self, client, production, django_assert_num_queries
    ):
        rule(production, "required_artifact", path="_worker.js")
        client.force_login(user_with_role("admin"))
        ask(production, build())
        # Session and user (2), the admin's permissions (2), environment, rules, answers (3).
        with django_assert_num_queries(7):
            assert client.get(gate_url(production)).status_code == 200
        for n in range(29):
            ask(production, build(worker=None if n % 2 else 1), commit=f"{n:04x}beef")
        with django_assert_num_queries(7):
            html = client.get(gate_url(production)).content.decode()
        assert html.count('class="blocked"') == 14


class TestGateRuleForms:
    @pytest.mark.parametrize("role", ["viewer", "editor"])
    def test_a_forged_post_by_a_non_admin_is_403_and_changes_nothing(
        self, client, production, role
    ):
        existing = rule(production, "stale_build", path="_worker.js")
        client.force_login(user_with_role(role))
        posts = {
            "rules/new": {"kind": "preview_first", "action": "block", "order": 0},
            f"rules/{existing.pk}/edit": {"kind": "stale_build", "action": "warn", "order": 0},
            f"rules/{existing.pk}/toggle": {},
            f"rules/{existing.pk}/delete": {},
        }
        for suffix, data in posts.items():
            assert client.post(gate_url(production, suffix), data).status_code == 403, suffix
        assert client.get(gate_url(production, "rules/new")).status_code == 403
        existing.refresh_from_db()
        assert (existing.action, existing.enabled) == ("block", True)
        assert GateRule.objects.count() == 1

    def test_an_admin_adds_a_rule(self, client, production):
        client.force_login(user_with_role("admin"))
        assert client.get(gate_url(production, "rules/new")).status_code == 200
        data = {
            "kind": "required_artifact",
            "action": "block",
            "path": "_worker.js",
            "min_size": "102400",
            "enabled": "on",
            "order": "1",
        }
        response = client.post(gate_url(production, "rules/new"), data)
        assert response.status_code == 302
        assert response["Location"] == gate_url(production)
        added = GateRule.objects.get()
        assert (added.kind, added.path, added.min_size, added.enabled) == (
            "required_artifact",
            "_worker.js",
            102_400,
            True,
        )
        assert added.service == production.service

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"kind": "required_artifact", "path": ""}, "path", "needs the path"),
            ({"kind": "preview_first", "path": "a.js"}, "path", "Only required artifact"),
            ({"kind": "stale_build", "path": "../a.js"}, "path", "normalised"),
            ({"kind": "stale_build", "min_size": "5"}, "min_size", "Only required artifact"),
            (
                {"kind": "required_artifact", "path": "a", "min_size": "9", "max_size": "3"},
                "max_size",
                "below",
            ),
            ({"kind": "nonsense"}, "kind", "Select a valid choice"),
        ],
    )
    def test_a_bad_rule_shows_the_error_beside_its_field(
        self, client, production, data, field, message
    ):
        client.force_login(user_with_role("admin"))
        response = client.post(
            gate_url(production, "rules/new"), {"action": "block", "order": "0", **data}
        )
        assert response.status_code == 422
        html = response.content.decode()
        error = html.split(f'id="id_{field}_error"', 1)[1].split("</span>", 1)[0]
        assert message in error
        assert not GateRule.objects.exists()

    def test_an_admin_edits_disables_and_deletes_a_rule(self, client, production):
        existing = rule(production, "required_artifact", path="_worker.js", min_size=100)
        client.force_login(user_with_role("admin"))
        edit = gate_url(production, f"rules/{existing.pk}/edit")
        assert 'value="_worker.js"' in client.get(edit).content.decode()
        data = {"kind": "required_artifact", "action": "warn", "path": "_worker.js"}
        response = client.post(edit, {**data, "min_size": "200", "enabled": "on", "order": "3"})
        assert response.status_code == 302
        existing.refresh_from_db()
        assert (existing.action, existing.min_size, existing.order) == ("warn", 200, 3)

        assert client.post(gate_url(production, f"rules/{existing.pk}/toggle")).status_code == 302
        existing.refresh_from_db()
        assert existing.enabled is False

        delete = gate_url(production, f"rules/{existing.pk}/delete")
        assert "Delete this rule?" in client.get(delete).content.decode()
        assert client.post(delete).status_code == 302
        assert not GateRule.objects.exists()

    def test_a_rule_of_another_environment_is_404_here(self, client, production, preview):
        elsewhere = rule(preview, "stale_build")
        client.force_login(user_with_role("admin"))
        url = gate_url(production, f"rules/{elsewhere.pk}/toggle")
        assert client.post(url).status_code == 404
