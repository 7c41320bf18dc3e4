"""Drafting an incident when a production service keeps failing its health checks.

deployments announces "health_failing" once per run of failing scheduled snapshots; incidents
drafts one incident per run, starting at the run's first failing snapshot.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from deployments.models import CheckResult, Environment, HealthSnapshot
from deployments.services import ProbeOutcome, snapshot_record
from incidents.models import Incident, Severity, TimelineEvent
from incidents.system.services import incident_draft_from_health
from tests.factories import T0, EnvironmentFactory, HealthCheckFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _draft_after_three(settings) -> None:
    settings.HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES = 3


@pytest.fixture
def checks():
    production = EnvironmentFactory(service__name="Storefront", service__slug="storefront")
    return [
        HealthCheckFactory(service=production.service, environment=production, name="Homepage"),
        HealthCheckFactory(service=production.service, environment=production, name="API"),
    ]


class Recorder:
    """Records one scheduled snapshot a minute; each step says which checks pass."""

    def __init__(self, checks):
        self.checks = checks
        self.moment = T0

    def step(self, *oks: bool, kind: str = HealthSnapshot.Kind.SCHEDULED) -> HealthSnapshot:
        outcomes = [
            ProbeOutcome(check, ok, 200 if ok else 503, 40, "" if ok else "Expected HTTP 200.")
            for check, ok in zip(self.checks, oks, strict=True)
        ]
        snapshot = snapshot_record(
            service=self.checks[0].service, taken_at=self.moment, outcomes=outcomes, kind=kind
        )
        self.moment += MINUTE
        return snapshot


def test_three_failing_snapshots_in_a_row_draft_one_incident_from_the_first(checks):
    steps = Recorder(checks)
    steps.step(True, True)
    first_failure = steps.step(False, False)
    steps.step(False, False)
    assert not Incident.objects.exists()  # two in a row is not yet three
    third = steps.step(False, True)

    incident = Incident.objects.get()
    assert incident.service == checks[0].service
    assert incident.started_at == first_failure.taken_at
    assert incident.detected_at == third.taken_at
    assert incident.status == Incident.Status.INVESTIGATING
    assert incident.postmortem_state == Incident.PostmortemState.DRAFT
    assert incident.severity == Severity.SEV3  # the last one was degraded, not down
    assert incident.title == "Storefront (production): health checks failing"
    assert incident.created_by is None


def test_each_failing_check_gets_a_timeline_event_at_its_first_failure(checks):
    steps = Recorder(checks)
    first = steps.step(False, True)
    second = steps.step(False, False)
    steps.step(False, False)

    events = list(TimelineEvent.objects.filter(incident__service=checks[0].service))
    assert [(e.occurred_at, e.kind, e.source) for e in events] == [
        (first.taken_at, TimelineEvent.Kind.HEALTH, TimelineEvent.Source.HEALTH),
        (second.taken_at, TimelineEvent.Kind.HEALTH, TimelineEvent.Source.HEALTH),
    ]
    assert events[0].text.startswith("**Homepage** failing: Expected HTTP 200\\.")
    assert "3 of 3 snapshots" in events[0].text
    assert "<strong>API</strong> failing" in events[1].text_html
    assert "2 of 3 snapshots" in events[1].text
    assert Incident.objects.get().severity == Severity.SEV2  # ended down


def test_a_longer_run_still_has_one_incident(checks):
    steps = Recorder(checks)
    for _ in range(7):
        steps.step(False, False)
    assert Incident.objects.count() == 1


def test_a_new_run_after_a_recovery_drafts_a_new_incident(checks):
    steps = Recorder(checks)
    for _ in range(3):
        steps.step(False, False)
    steps.step(True, True)
    for _ in range(2):
        steps.step(False, False)
    assert Incident.objects.count() == 1
    second_run = steps.step(False, False)
    assert Incident.objects.count() == 2
    latest = Incident.objects.order_by("-number").first()
    assert latest is not None
    assert latest.started_at == second_run.taken_at - 2 * MINUTE


def test_run_now_snapshots_do_not_count_toward_a_run(checks):
    steps = Recorder(checks)
    steps.step(False, False)
    steps.step(False, False)
    steps.step(False, False, kind=HealthSnapshot.Kind.MANUAL)
    steps.step(False, False, kind=HealthSnapshot.Kind.MANUAL)
    assert not Incident.objects.exists()
    steps.step(False, False)
    assert Incident.objects.count() == 1


def test_nothing_is_drafted_when_the_setting_is_zero(checks, settings):
    settings.HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES = 0
    steps = Recorder(checks)
    for _ in range(5):
        steps.step(False, False)
    assert not Incident.objects.exists()


def test_a_service_watching_no_production_environment_is_not_drafted():
    preview = EnvironmentFactory(name="preview", kind=Environment.Kind.PREVIEW)
    steps = Recorder([HealthCheckFactory(service=preview.service, environment=preview)])
    for _ in range(4):
        steps.step(False)
    assert not Incident.objects.exists()


def test_a_disabled_production_check_does_not_make_the_service_production():
    production = EnvironmentFactory()
    preview = EnvironmentFactory(
        service=production.service, name="preview", kind=Environment.Kind.PREVIEW
    )
    HealthCheckFactory(service=production.service, environment=production, enabled=False)
    steps = Recorder([HealthCheckFactory(service=preview.service, environment=preview)])
    for _ in range(4):
        steps.step(False)
    assert not Incident.objects.exists()


def test_the_same_run_announced_twice_drafts_once(checks):
    steps = Recorder(checks)
    run = [steps.step(False, False) for _ in range(3)]
    service = checks[0].service
    environment = checks[0].environment

    again = incident_draft_from_health(service=service, environment=environment, snapshots=run)

    assert Incident.objects.count() == 1
    assert again == Incident.objects.get()
    assert TimelineEvent.objects.filter(incident=again).count() == 2


def test_markdown_in_a_check_name_or_error_is_shown_as_text(checks):
    checks[0].name = "[click](https://evil.example)"
    checks[0].save()
    steps = Recorder(checks[:1])
    for _ in range(3):
        steps.step(False)
    event = TimelineEvent.objects.get()
    assert "<a " not in event.text_html
    assert "[click](https://evil.example)" in event.text_html


def test_failures_inside_a_maintenance_window_draft_no_incident(checks):
    service = checks[0].service
    MaintenanceWindowFactory(service=service, environment=checks[0].environment)
    steps = Recorder(checks)
    for _ in range(5):
        steps.step(False, False)
    assert not Incident.objects.exists()
    assert set(HealthSnapshot.objects.values_list("status", flat=True)) == {"maintenance"}
    assert CheckResult.objects.filter(maintenance=True).count() == 10


def test_after_the_window_ends_failures_draft_as_before_from_the_first_outside_it(checks):
    service = checks[0].service
    MaintenanceWindowFactory(service=service, ends_at=T0 + 2 * MINUTE)
    steps = Recorder(checks)
    steps.step(False, False)
    steps.step(False, False)
    first_outside = steps.step(False, False)
    steps.step(False, False)
    assert not Incident.objects.exists()  # two outside the window are not yet three
    steps.step(False, False)
    incident = Incident.objects.get()
    assert incident.started_at == first_outside.taken_at
    assert "3 of 3 snapshots" in TimelineEvent.objects.filter(incident=incident)[0].text


def test_a_check_in_maintenance_is_left_out_of_the_drafts_timeline(checks):
    service = checks[0].service
    everywhere = HealthCheckFactory(service=service, name="Everywhere")
    MaintenanceWindowFactory(service=service, environment=checks[0].environment)
    steps = Recorder([checks[0], everywhere])
    for _ in range(3):
        steps.step(False, False)
    incident = Incident.objects.get()
    texts = [event.text for event in TimelineEvent.objects.filter(incident=incident)]
    assert len(texts) == 1
    assert texts[0].startswith("**Everywhere** failing")
