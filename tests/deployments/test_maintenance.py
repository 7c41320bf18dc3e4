"""Maintenance windows: opened around a deployment, ended by CI or by their timeout, and what a
failing check inside one becomes (stored as maintenance, not a failure of the service)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments import selectors
from deployments.models import (
    CheckResult,
    CheckResultHourly,
    Environment,
    HealthChange,
    HealthSnapshot,
    HealthStatus,
    MaintenanceWindow,
)
from deployments.services import (
    ProbeOutcome,
    maintenance_window_end,
    maintenance_window_open,
    snapshot_record,
)
from deployments.services.retention import results_roll_up
from tests.factories import (
    T0,
    EnvironmentFactory,
    HealthCheckFactory,
    MaintenanceWindowFactory,
    ServiceFactory,
    user_with_role,
)
from tests.helpers import assert_violates, run_in_threads

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def production() -> Environment:
    return EnvironmentFactory(service__slug="storefront", name="production")


class TestOpenAndEnd:
    def test_a_window_opens_now_for_an_hour_unless_told(self, clock, production):
        window, created = maintenance_window_open(
            service=production.service, reason="Deploy 42", opened_by="ci"
        )
        assert created
        assert (window.starts_at, window.ends_at, window.ended_at) == (T0, T0 + 60 * MINUTE, None)
        assert window.environment is None
        assert window.is_open()
        short, _ = maintenance_window_open(service=production.service, minutes=5)
        assert short.ends_at == T0 + 5 * MINUTE

    @pytest.mark.parametrize("minutes", [0, -1, 24 * 60 + 1])
    def test_a_window_lasts_a_minute_to_a_day(self, production, minutes):
        with pytest.raises(ValidationError) as excinfo:
            maintenance_window_open(service=production.service, minutes=minutes)
        assert "minutes" in excinfo.value.message_dict
        assert not MaintenanceWindow.objects.exists()

    def test_a_whole_day_is_allowed(self, clock, production):
        window, _ = maintenance_window_open(service=production.service, minutes=24 * 60)
        assert window.ends_at == T0 + timedelta(days=1)

    def test_an_environment_of_another_service_is_refused(self, production):
        stranger = EnvironmentFactory(service__slug="elsewhere")
        with pytest.raises(ValidationError):
            maintenance_window_open(service=production.service, environment=stranger)

    def test_the_same_external_id_while_open_answers_the_open_window(self, clock, production):
        first, created = maintenance_window_open(service=production.service, external_id="d-42")
        clock.shift(10 * MINUTE)
        again, created_again = maintenance_window_open(
            service=production.service, external_id="d-42", minutes=5, reason="retry"
        )
        assert (created, created_again) == (True, False)
        assert again == first
        assert again.ends_at == T0 + 60 * MINUTE  # the retry changed nothing
        other_service = ServiceFactory()
        _, created_elsewhere = maintenance_window_open(service=other_service, external_id="d-42")
        assert created_elsewhere

    def test_once_ended_or_run_out_the_same_external_id_opens_a_new_window(self, clock, production):
        first, _ = maintenance_window_open(service=production.service, external_id="d-42")
        maintenance_window_end(window=first)
        second, created = maintenance_window_open(service=production.service, external_id="d-42")
        assert created
        assert second != first
        clock.shift(61 * MINUTE)
        third, created = maintenance_window_open(service=production.service, external_id="d-42")
        assert created
        assert third not in (first, second)

    def test_ending_closes_it_now_and_ending_again_changes_nothing(self, clock, production):
        window, _ = maintenance_window_open(service=production.service)
        clock.shift(7 * MINUTE)
        ended = maintenance_window_end(window=window)
        assert ended.ended_at == T0 + 7 * MINUTE
        assert not ended.is_open()
        clock.shift(MINUTE)
        assert maintenance_window_end(window=window).ended_at == T0 + 7 * MINUTE

    def test_a_window_closes_by_itself_at_its_timeout(self, clock, production):
        window, _ = maintenance_window_open(service=production.service, minutes=30)
        clock.shift(29 * MINUTE)
        assert window.is_open()
        clock.shift(MINUTE)
        assert not window.is_open()
        assert not selectors.maintenance_windows_open(at=T0 + 30 * MINUTE).exists()
        # Ending it after its timeout keeps the end it had: its ends_at.
        assert maintenance_window_end(window=window).ended_at is None

    def test_the_database_refuses_a_window_that_ends_before_it_starts(self, production):
        assert_violates(
            "maintenancewindow_ends_after_start",
            lambda: MaintenanceWindowFactory(service=production.service, ends_at=T0),
        )

    def test_the_database_refuses_an_end_outside_the_window(self, production):
        window = MaintenanceWindowFactory(service=production.service)
        same = MaintenanceWindow.objects.filter(pk=window.pk)
        assert_violates("maintenancewindow_ended_within", lambda: same.update(ended_at=T0 - MINUTE))
        assert_violates(
            "maintenancewindow_ended_within",
            lambda: same.update(ended_at=window.ends_at + MINUTE),
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_opens_of_one_external_id_make_one_window():
    service = ServiceFactory()
    answers = run_in_threads(
        6, lambda _i: maintenance_window_open(service=service, external_id="d-42")
    )
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert sorted(created for _window, created in answers) == [False] * 5 + [True]
    assert MaintenanceWindow.objects.count() == 1


class TestInMaintenance:
    def test_a_window_of_the_whole_service_covers_every_check_of_it_while_open(self, production):
        check = HealthCheckFactory(service=production.service, environment=production)
        everywhere = HealthCheckFactory(service=production.service)
        stranger = HealthCheckFactory()
        MaintenanceWindowFactory(service=production.service)
        inside = T0 + 30 * MINUTE
        assert selectors.checks_in_maintenance(checks=[check, everywhere, stranger], at=inside) == {
            check.pk,
            everywhere.pk,
        }
        assert not selectors.in_maintenance(health_check=check, at=T0 - MINUTE)
        assert selectors.in_maintenance(health_check=check, at=T0)
        assert not selectors.in_maintenance(health_check=check, at=T0 + 60 * MINUTE)

    def test_a_window_of_one_environment_covers_only_the_checks_watching_it(self, production):
        preview = EnvironmentFactory(service=production.service, name="preview")
        watching = HealthCheckFactory(service=production.service, environment=production)
        other = HealthCheckFactory(service=production.service, environment=preview)
        everywhere = HealthCheckFactory(service=production.service)
        MaintenanceWindowFactory(service=production.service, environment=production)
        assert selectors.checks_in_maintenance(
            checks=[watching, other, everywhere], at=T0 + MINUTE
        ) == {watching.pk}

    def test_an_ended_window_covers_nothing_after_its_end(self, production):
        check = HealthCheckFactory(service=production.service)
        MaintenanceWindowFactory(service=production.service, ended_at=T0 + 10 * MINUTE)
        assert selectors.in_maintenance(health_check=check, at=T0 + 9 * MINUTE)
        assert not selectors.in_maintenance(health_check=check, at=T0 + 10 * MINUTE)

    def test_it_is_one_query_however_many_checks_and_windows(self, production):
        checks = [HealthCheckFactory(service=production.service) for _ in range(5)]
        for i in range(5):
            MaintenanceWindowFactory(service=production.service, starts_at=T0 + i * MINUTE)
        with CaptureQueriesContext(connection) as captured:
            covered = selectors.checks_in_maintenance(checks=checks, at=T0 + 30 * MINUTE)
        assert covered == {c.pk for c in checks}
        assert len(captured.captured_queries) == 1


def snap(checks, moment, *oks: bool, kind: str = HealthSnapshot.Kind.SCHEDULED):
    return snapshot_record(
        service=checks[0].service,
        taken_at=moment,
        outcomes=[
            ProbeOutcome(c, ok, 200 if ok else 503, 40, "" if ok else "Expected HTTP 200.")
            for c, ok in zip(checks, oks, strict=True)
        ],
        kind=kind,
    )


class TestSnapshotsInsideAWindow:
    @pytest.fixture
    def checks(self, production):
        return [
            HealthCheckFactory(service=production.service, environment=production, name="Home"),
            HealthCheckFactory(service=production.service, environment=production, name="API"),
        ]

    def test_a_failing_check_inside_a_window_is_stored_as_maintenance(self, checks, production):
        MaintenanceWindowFactory(service=production.service, environment=production)
        snapshot = snap(checks, T0 + MINUTE, False, True)
        failed = snapshot.results.get(health_check=checks[0])
        passed = snapshot.results.get(health_check=checks[1])
        assert snapshot.status == HealthStatus.MAINTENANCE
        assert (failed.ok, failed.maintenance, failed.error) == (False, True, "Expected HTTP 200.")
        assert (passed.ok, passed.maintenance) == (True, False)

    def test_outside_the_window_the_same_failure_is_a_failure(self, checks, production):
        MaintenanceWindowFactory(service=production.service, ended_at=T0 + 5 * MINUTE)
        before = snap(checks, T0 - MINUTE, False, True)
        after = snap(checks, T0 + 5 * MINUTE, False, False)
        assert (before.status, after.status) == (HealthStatus.DEGRADED, HealthStatus.DOWN)
        assert not CheckResult.objects.filter(maintenance=True).exists()

    def test_a_check_the_window_does_not_cover_still_counts(self, checks, production):
        everywhere = HealthCheckFactory(service=production.service, name="Everywhere")
        MaintenanceWindowFactory(service=production.service, environment=production)
        snapshot = snap([*checks, everywhere], T0 + MINUTE, False, True, False)
        # Home is excused; of the counted two, API passed and Everywhere failed.
        assert snapshot.status == HealthStatus.DEGRADED
        assert set(snapshot.results.filter(maintenance=True).values_list("health_check__name")) == {
            ("Home",)
        }

    def test_the_service_goes_to_maintenance_and_back_as_health_changes(self, checks, production):
        MaintenanceWindowFactory(service=production.service, ended_at=T0 + 2 * MINUTE)
        snap(checks, T0 - MINUTE, True, True)
        snap(checks, T0 + MINUTE, False, False)
        snap(checks, T0 + 3 * MINUTE, True, True)
        assert list(HealthChange.objects.values_list("from_status", "to_status")) == [
            ("", "up"),
            ("up", "maintenance"),
            ("maintenance", "up"),
        ]

    def test_a_snapshot_where_everything_passed_does_not_ask_about_windows(self, checks):
        with CaptureQueriesContext(connection) as captured:
            snap(checks, T0, True, True)
        table = MaintenanceWindow._meta.db_table
        assert not [q for q in captured.captured_queries if table in q["sql"]]

    def test_run_now_inside_a_window_is_excused_too(self, checks, production, monkeypatch):
        from deployments.services import probes

        snap(checks, T0 - MINUTE, True, True)
        MaintenanceWindowFactory(service=production.service)
        monkeypatch.setattr(
            probes,
            "probe_checks",
            lambda found: [ProbeOutcome(found[0], False, 503, 10, "Expected HTTP 200.")],
        )
        with time_machine.travel(T0 + MINUTE, tick=False):
            result = probes.health_check_run(health_check=checks[0])
        assert (result.ok, result.maintenance) == (False, True)
        assert result.snapshot.status == HealthStatus.MAINTENANCE


def test_the_roll_up_counts_maintenance_apart_from_uptime(production):
    check = HealthCheckFactory(service=production.service)
    MaintenanceWindowFactory(service=production.service, starts_at=T0, ends_at=T0 + 10 * MINUTE)
    for minute, ok in [(1, False), (2, False), (20, True), (21, False), (22, True)]:
        snap([check], T0 + minute * MINUTE, ok)
    results_roll_up(before=T0 + timedelta(hours=2))
    hour = CheckResultHourly.objects.get()
    # The two failures inside the window are not samples; the one outside is.
    assert (hour.samples, hour.ok_count, hour.maintenance_count) == (3, 2, 2)
    assert hour.uptime_percent == pytest.approx(100 * 2 / 3)


def test_a_late_part_of_a_rolled_up_hour_adds_its_maintenance_count(production):
    check = HealthCheckFactory(service=production.service)
    MaintenanceWindowFactory(service=production.service, starts_at=T0, ends_at=T0 + 50 * MINUTE)
    snap([check], T0 + MINUTE, False)
    results_roll_up(before=T0 + timedelta(hours=2))
    snap([check], T0 + 2 * MINUTE, False)
    results_roll_up(before=T0 + timedelta(hours=2))
    hour = CheckResultHourly.objects.get()
    assert (hour.samples, hour.ok_count, hour.maintenance_count) == (0, 0, 2)
    assert hour.uptime_percent is None


def test_the_database_refuses_a_pass_marked_as_maintenance(production):
    check = HealthCheckFactory(service=production.service)
    snapshot = snap([check], T0, True)
    assert_violates(
        "result_maintenance_is_a_failure",
        lambda: CheckResult.objects.filter(snapshot=snapshot).update(maintenance=True),
    )


def test_an_admin_ends_windows_early_from_the_admin_list(client, clock, production):
    open_now = MaintenanceWindowFactory(service=production.service)
    ended = MaintenanceWindowFactory(service=production.service, ended_at=T0)
    client.force_login(user_with_role("admin", is_staff=True))
    clock.shift(5 * MINUTE)
    response = client.post(
        reverse("admin:deployments_maintenancewindow_changelist"),
        {"action": "end_now", "_selected_action": [open_now.pk, ended.pk]},
    )
    assert response.status_code == 302
    open_now.refresh_from_db()
    ended.refresh_from_db()
    assert (open_now.ended_at, ended.ended_at) == (T0 + 5 * MINUTE, T0)
