from __future__ import annotations

from datetime import timedelta

import pytest

from core.rendering import render
from incidents.models import ActionItem, Incident, SuccessCriterion
from incidents.postmortem import services
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    ServiceFactory,
    SuccessCriterionFactory,
)
from tests.helpers import assert_violates, run_in_threads

pytestmark = pytest.mark.django_db


class TestDatabaseRules:
    def test_resolved_before_started_is_refused(self):
        incident = IncidentFactory()
        assert_violates(
            "incident_resolved_after_started",
            lambda: Incident.objects.filter(pk=incident.pk).update(
                resolved_at=incident.started_at - timedelta(minutes=1)
            ),
        )

    def test_resolved_at_the_start_is_allowed(self):
        incident = IncidentFactory()
        Incident.objects.filter(pk=incident.pk).update(resolved_at=incident.started_at)

    def test_detected_before_started_is_refused(self):
        incident = IncidentFactory()
        assert_violates(
            "incident_detected_after_started",
            lambda: Incident.objects.filter(pk=incident.pk).update(
                detected_at=incident.started_at - timedelta(seconds=1)
            ),
        )

    def test_resolved_status_needs_a_resolution_time(self):
        incident = IncidentFactory()
        assert_violates(
            "incident_resolved_has_resolved_at",
            lambda: Incident.objects.filter(pk=incident.pk).update(status="resolved"),
        )

    def test_incident_reference_is_unique(self):
        existing = IncidentFactory()
        assert_violates(
            "incident_reference_unique",
            lambda: Incident.objects.bulk_create(
                [
                    Incident(
                        number=existing.number, service=existing.service, title="x", started_at=T0
                    )
                ]
            ),
            columns="incidents_incident.number",
        )

    def test_done_item_without_done_at_is_refused(self):
        item = ActionItemFactory()
        assert_violates(
            "actionitem_done_has_done_at",
            lambda: ActionItem.objects.filter(pk=item.pk).update(status="done"),
        )

    def test_open_item_with_done_at_is_refused(self):
        item = ActionItemFactory()
        assert_violates(
            "actionitem_done_has_done_at",
            lambda: ActionItem.objects.filter(pk=item.pk).update(done_at=T0),
        )

    def test_done_criterion_without_done_at_is_refused(self):
        criterion = SuccessCriterionFactory()
        assert_violates(
            "criterion_done_has_done_at",
            lambda: SuccessCriterion.objects.filter(pk=criterion.pk).update(done=True),
        )

    def test_cause_cannot_be_its_own_parent(self):
        cause = CauseFactory()
        assert_violates(
            "cause_not_own_parent",
            lambda: type(cause).objects.filter(pk=cause.pk).update(parent=cause.pk),
        )

    def test_version_cannot_be_zero(self):
        incident = IncidentFactory()
        assert_violates(
            "incident_version_positive",
            lambda: Incident.objects.filter(pk=incident.pk).update(version=0),
        )


class TestDerivedValues:
    def test_duration_runs_from_start_to_resolution(self):
        incident = IncidentFactory(
            started_at=T0, resolved_at=T0 + timedelta(minutes=16), status="resolved"
        )
        assert incident.duration == timedelta(minutes=16)

    def test_open_incident_has_no_duration(self):
        assert IncidentFactory(started_at=T0).duration is None

    def test_times_to_detect_and_mitigate(self):
        incident = IncidentFactory(
            detected_at=T0 + timedelta(minutes=2), mitigated_at=T0 + timedelta(minutes=15)
        )
        assert incident.time_to_detect == timedelta(minutes=2)
        assert incident.time_to_mitigate == timedelta(minutes=15)

    def test_reference_reads_back(self):
        incident = IncidentFactory(number=42)
        assert incident.reference == "INC-42"
        for spelling in ("INC-42", "inc-42", " 42 ", 42):
            assert Incident.objects.by_reference(spelling) == incident

    @pytest.mark.parametrize("bad", ["INC-", "INC-x", "42; DROP", "", "INC-1234567890"])
    def test_malformed_reference_is_not_found(self, bad):
        with pytest.raises(Incident.DoesNotExist):
            Incident.objects.by_reference(bad)


class TestIncidentCreate:
    def test_references_count_up(self):
        service = ServiceFactory()
        first = services.incident_create(service=service, title="One", started_at=T0)
        second = services.incident_create(service=service, title="Two", started_at=T0)
        assert (first.reference, second.reference) == ("INC-1", "INC-2")

    def test_numbering_continues_after_rows_made_elsewhere(self):
        IncidentFactory(number=7)
        incident = services.incident_create(service=ServiceFactory(), title="Next", started_at=T0)
        assert incident.number == 8

    def test_markdown_is_stored_rendered_and_sanitized(self):
        incident = services.incident_create(
            service=ServiceFactory(),
            title="XSS",
            started_at=T0,
            summary="**bold** <script>alert(1)</script> [x](javascript:alert(1))",
        )
        assert "<strong>bold</strong>" in incident.summary_html
        assert "<script" not in incident.summary_html
        assert "javascript:" not in incident.summary_html
        assert incident.summary_html == render(incident.summary)

    def test_resolved_before_start_is_a_validation_error(self):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            services.incident_create(
                service=ServiceFactory(),
                title="Backwards",
                started_at=T0,
                resolved_at=T0 - timedelta(minutes=5),
                status="resolved",
            )
        assert not Incident.objects.exists()


class TestIncidentUpdate:
    def test_update_bumps_the_version(self):
        incident = IncidentFactory()
        updated = services.incident_update(
            incident=incident, expected_version=1, summary="Now *known*."
        )
        assert updated.version == 2
        assert updated.summary_html == "<p>Now <em>known</em>.</p>"

    def test_stale_version_is_refused_and_nothing_is_written(self):
        incident = IncidentFactory()
        services.incident_update(incident=incident, expected_version=1, summary="first")
        with pytest.raises(services.StaleVersion) as excinfo:
            services.incident_update(incident=incident, expected_version=1, summary="second")
        assert excinfo.value.current_version == 2
        incident.refresh_from_db()
        assert incident.summary == "first"

    def test_ticking_an_item_does_not_touch_the_incident_version(self):
        item = ActionItemFactory()
        services.action_item_complete(item=item, user=None)
        item.incident.refresh_from_db()
        assert item.status == ActionItem.Status.DONE
        assert item.done_at is not None
        assert item.incident.version == 1
        services.action_item_reopen(item=item)
        assert item.status == ActionItem.Status.OPEN
        assert item.done_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrencyOnPostgres:
    def test_concurrent_creates_get_distinct_references(self):
        service = ServiceFactory()
        results = run_in_threads(
            8,
            lambda i: (
                services.incident_create(
                    service=service, title=f"Parallel {i}", started_at=T0
                ).number
            ),
        )
        assert all(isinstance(r, int) for r in results), results
        assert sorted(results) == list(range(1, 9))

    def test_concurrent_editors_exactly_one_wins(self):
        incident = IncidentFactory()

        def edit(i: int):
            try:
                services.incident_update(incident=incident, expected_version=1, summary=f"v{i}")
            except services.StaleVersion:
                return "stale"
            return "won"

        results = run_in_threads(6, edit)
        assert sorted(results) == ["stale"] * 5 + ["won"]
        incident.refresh_from_db()
        assert incident.version == 2
