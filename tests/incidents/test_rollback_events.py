"""A recorded rollback is written on the timeline of the service's open incidents, once; and the
deployments pages learn which incidents a deployment is tied to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import plugins
from deployments.models import Deployment
from deployments.services import deployment_record
from incidents.models import Incident, TimelineEvent
from incidents.system.links import incident_links
from incidents.system.services import timeline_rollback_add
from tests.factories import (
    T0,
    CauseFactory,
    DeploymentFactory,
    EnvironmentFactory,
    IncidentFactory,
)

pytestmark = pytest.mark.django_db

BAD = "badc0de" + "1" * 33
GOOD = "600dc0d" + "2" * 33


@pytest.fixture
def production():
    return EnvironmentFactory()


@pytest.fixture
def broken(production) -> Deployment:
    return DeploymentFactory(environment=production, commit_sha=BAD, started_at=T0, finished_at=T0)


def roll_back(production, broken, external_id: str = "rollback-1") -> tuple[Deployment, bool]:
    return deployment_record(
        environment=production,
        external_id=external_id,
        commit_sha=GOOD,
        status=Deployment.Status.SUCCEEDED,
        started_at=T0 + timedelta(minutes=10),
        finished_at=T0 + timedelta(minutes=11),
        rollback_of=broken,
    )


class TestRollbackOnTheTimeline:
    def test_the_subscriber_is_registered_by_the_app(self):
        assert timeline_rollback_add in plugins._subscribers["rollback_recorded"]
        assert incident_links in plugins._deployment_link_providers

    def test_each_open_incident_of_the_service_gets_the_rollback(self, production, broken):
        first = IncidentFactory(service=production.service)
        second = IncidentFactory(service=production.service, status=Incident.Status.MONITORING)
        rollback, created = roll_back(production, broken)
        assert created
        for incident in (first, second):
            event = incident.timeline_events.get()
            assert event.kind == TimelineEvent.Kind.ROLLBACK
            assert event.source == TimelineEvent.Source.DEPLOYMENT
            assert event.deployment == rollback
            assert event.occurred_at == rollback.finished_at
            assert event.text == "Rolled back production from `badc0de` to `600dc0d`."
            assert "<code>badc0de</code>" in event.text_html

    def test_resolved_incidents_and_other_services_are_left_alone(self, production, broken):
        resolved = IncidentFactory(
            service=production.service,
            status=Incident.Status.RESOLVED,
            resolved_at=T0 + timedelta(hours=1),
        )
        elsewhere = IncidentFactory()
        roll_back(production, broken)
        assert not resolved.timeline_events.exists()
        assert not elsewhere.timeline_events.exists()

    def test_a_replayed_record_adds_nothing(self, production, broken):
        incident = IncidentFactory(service=production.service)
        first, _ = roll_back(production, broken)
        again, created = roll_back(production, broken)
        assert (again, created) == (first, False)
        assert incident.timeline_events.count() == 1

    def test_announcing_the_same_rollback_twice_adds_nothing(self, production, broken):
        incident = IncidentFactory(service=production.service)
        rollback, _ = roll_back(production, broken)
        assert timeline_rollback_add(deployment=rollback) == []
        assert incident.timeline_events.count() == 1

    def test_a_plain_deployment_is_not_announced(self, production):
        incident = IncidentFactory(service=production.service)
        deployment_record(environment=production, external_id="plain", commit_sha=GOOD)
        assert not incident.timeline_events.exists()

    def test_a_failing_subscriber_rolls_the_record_back(self, production, broken, monkeypatch):
        IncidentFactory(service=production.service)

        def refuse(**kwargs):
            raise RuntimeError("no")

        monkeypatch.setitem(plugins._subscribers, "rollback_recorded", [refuse])
        with pytest.raises(RuntimeError):
            roll_back(production, broken)
        assert not Deployment.objects.filter(external_id="rollback-1").exists()


class TestIncidentLinks:
    def test_a_cause_or_a_deployment_during_the_incident_ties_them(self, production, broken):
        cause_of = IncidentFactory(service=production.service, number=7)
        CauseFactory(incident=cause_of, deployment=broken, title="Bad build")
        during = DeploymentFactory(environment=production, started_at=T0 + timedelta(minutes=5))
        open_one = IncidentFactory(service=production.service, number=8, started_at=T0)
        links = plugins.deployment_links([broken.pk, during.pk])
        assert [link.label for link in links[broken.pk]] == ["INC-7", "INC-8"]
        assert links[broken.pk][0].url == reverse("incidents:detail", args=["INC-7"])
        assert "Bad build" in links[broken.pk][0].title
        assert [link.label for link in links[during.pk]] == ["INC-7", "INC-8"]
        assert open_one.number == 8

    def test_a_resolved_incident_holds_only_deployments_up_to_its_resolution(self, production):
        IncidentFactory(
            service=production.service,
            started_at=T0,
            resolved_at=T0 + timedelta(minutes=10),
            status=Incident.Status.RESOLVED,
        )
        inside = DeploymentFactory(environment=production, started_at=T0 + timedelta(minutes=10))
        before = DeploymentFactory(environment=production, started_at=T0 - timedelta(minutes=1))
        after = DeploymentFactory(environment=production, started_at=T0 + timedelta(minutes=11))
        elsewhere = DeploymentFactory(started_at=T0 + timedelta(minutes=5))
        links = incident_links([inside.pk, before.pk, after.pk, elsewhere.pk])
        assert set(links) == {inside.pk}

    def test_a_cause_and_the_window_name_one_incident_once(self, production, broken):
        incident = IncidentFactory(service=production.service, started_at=T0)
        CauseFactory(incident=incident, deployment=broken)
        assert len(incident_links([broken.pk])[broken.pk]) == 1

    def test_it_costs_two_queries_for_any_number_of_deployments(self, production):
        counts = []
        for size in (1, 40):
            IncidentFactory(service=production.service, started_at=T0)
            ids = [
                DeploymentFactory(environment=production, started_at=T0 + timedelta(minutes=i)).pk
                for i in range(size)
            ]
            with CaptureQueriesContext(connection) as captured:
                links = incident_links(ids)
            assert len(links) == size
            counts.append(len(captured.captured_queries))
        assert counts == [2, 2]
