"""The System pages: services with their environments, and each environment's deployments with
the last known good at the top."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments import services
from deployments.models import Deployment, Environment, GateRun
from deployments.views import releases
from tests.deployments.test_correlation import System, at
from tests.factories import (
    T0,
    CauseFactory,
    DeploymentFactory,
    EnvironmentFactory,
    IncidentFactory,
    ServiceFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client):
    client.force_login(user_with_role("viewer"))
    return client


def environment_url(environment: Environment) -> str:
    return reverse("deployments:environment", args=[environment.service.slug, environment.name])


def rows(html: str) -> list[str]:
    return re.findall(r'<tr id="deployment-\d+".*?</tr>', html, re.S)


class TestAccess:
    @pytest.mark.parametrize("name", ["services", "environment"])
    def test_anonymous_is_sent_to_log_in(self, client, name):
        environment = EnvironmentFactory()
        url = (
            reverse("deployments:services") if name == "services" else environment_url(environment)
        )
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("name", ["services", "environment"])
    def test_the_pages_are_read_only(self, viewer, name):
        environment = EnvironmentFactory()
        url = (
            reverse("deployments:services") if name == "services" else environment_url(environment)
        )
        assert viewer.post(url).status_code == 405
        assert viewer.get(url).status_code == 200

    def test_an_unknown_environment_is_a_404(self, viewer):
        environment = EnvironmentFactory()
        url = reverse("deployments:environment", args=[environment.service.slug, "nowhere"])
        assert viewer.get(url).status_code == 404

    def test_the_main_navigation_links_the_system_pages(self, viewer):
        html = viewer.get(reverse("incidents:dashboard")).content.decode()
        assert f'<a href="{reverse("deployments:services")}">System</a>' in html


class TestServicesOverview:
    @time_machine.travel(at(0), tick=False)
    def test_each_service_shows_its_environments_latest_deployment_and_health(self, viewer):
        system = System()
        system.deploy(-100, commit_sha="0ld0ld0" + "0" * 33)
        latest = system.deploy(-10, commit_sha="1a7e570" + "0" * 33)
        system.snap(-5, failing=[1])
        ServiceFactory(name="Quiet")
        html = viewer.get(reverse("deployments:services")).content.decode()
        service = html.split(system.service.name)[1].split("</section>")[0]
        assert '<span class="health degraded">Degraded</span>' in service
        assert "last check 5 minutes ago" in service
        production = service.split(f'href="{environment_url(system.production)}"')[1]
        assert "<code>1a7e570</code>" in production.split("</tr>")[0]
        assert latest.get_health_display() in production.split("</tr>")[0]
        preview = service.split(f'href="{environment_url(system.preview)}"')[1]
        assert "Nothing shipped yet." in preview.split("</tr>")[0]
        assert "No environments yet." in html.split("Quiet")[1]

    def test_a_service_whose_checks_stopped_answering_shows_unknown_and_how_old(self, viewer):
        system = System()
        system.snap(-5)
        with time_machine.travel(at(0) + timedelta(days=336), tick=False):
            html = viewer.get(reverse("deployments:services")).content.decode()
        service = html.split(system.service.name)[1].split("</section>")[0]
        assert ">Unknown</span>" in service
        assert "last check 11 months ago" in service
        assert ">Up</span>" not in service

    def test_a_pending_deployment_recorded_without_a_start_is_the_latest(self, viewer):
        environment = EnvironmentFactory()
        DeploymentFactory(environment=environment, started_at=T0, commit_sha="5ee0000" + "0" * 33)
        services.deployment_record(
            environment=environment, external_id="ci-1", commit_sha="1a7e570" + "0" * 33
        )
        html = viewer.get(reverse("deployments:services")).content.decode()
        assert "<code>1a7e570</code>" in html
        assert "<code>5ee0000</code>" not in html

    def test_the_query_count_does_not_grow_with_services_or_deployments(self, viewer):
        counts = []
        for size in (1, 20):
            while Environment.objects.count() < size:
                environment = EnvironmentFactory()
                DeploymentFactory.create_batch(3, environment=environment)
            with CaptureQueriesContext(connection) as captured:
                response = viewer.get(reverse("deployments:services"))
            assert response.content.decode().count("environments-table") == size
            counts.append(len(captured.captured_queries))
        # Session and user (2), permissions (2), services with health (1), environments with
        # their latest (1), those deployments (1).
        assert counts == [7, 7], counts


class TestEnvironmentPage:
    def test_the_last_known_good_and_its_rollback_command_lead_the_page(self, viewer):
        system = System(template="wrangler pages deployment rollback {external_id}")
        good = system.deploy(-100)
        system.snaps(-99, -60, every=5)
        system.deploy(-10, health=Deployment.Health.UNHEALTHY)
        html = viewer.get(environment_url(system.production)).content.decode()
        top = html.split("<h2>Deployments</h2>")[0]
        assert good.commit_sha[:7] in top
        command = f"wrangler pages deployment rollback {good.external_id}"
        assert f'<code id="rollback-command-env">{command}</code>' in top
        assert 'data-copy-target="rollback-command-env"' in top
        assert 'src="/static/js/copy.js"' in html
        known = [row for row in rows(html) if 'class="known-good"' in row]
        assert len(known) == 1
        assert good.commit_sha[:7] in known[0]

    def test_without_a_known_good_deployment_it_says_why(self, viewer):
        system = System()
        system.deploy(-10, health=Deployment.Health.UNKNOWN)
        html = viewer.get(environment_url(system.production)).content.decode()
        assert "None yet: no deployment here has passed its smoke run" in html

    def test_a_row_shows_status_commit_who_health_rollback_gate_and_incidents(self, viewer):
        system = System()
        broken = system.deploy(-3, commit_sha="badc0de" + "1" * 33, deployed_by="ci job 7")
        fix = system.deploy(5, rollback_of=broken, commit_sha="600dc0d" + "2" * 33)
        GateRun.objects.create(
            service=system.service,
            environment=system.production,
            commit_sha=broken.commit_sha,
            verdict=GateRun.Verdict.PASS,
            deployment=broken,
        )
        incident = IncidentFactory(service=system.service, started_at=T0, number=41)
        CauseFactory(incident=incident, deployment=broken, title="Shipped without a worker")
        html = viewer.get(environment_url(system.production)).content.decode()
        fix_row, broken_row = rows(html)[:2]
        assert "<code>badc0de</code>" not in fix_row.split("rollback of")[0]
        assert "rollback of <code>badc0de</code>" in fix_row
        assert '<a href="/incidents/INC-41/"' in fix_row  # deployed during the open incident
        assert "ci job 7" in broken_row
        assert '<span class="verdict pass">Pass</span>' in broken_row
        assert "INC-41" in broken_row
        assert "cause: Shipped without a worker" in broken_row
        assert fix.rollback_of == broken

    def test_deployments_are_paginated_newest_first(self, viewer, monkeypatch):
        monkeypatch.setattr(releases, "PAGE_SIZE", 3)
        environment = EnvironmentFactory()
        made = [
            DeploymentFactory(environment=environment, started_at=T0 + timedelta(hours=i))
            for i in range(7)
        ]
        first = viewer.get(environment_url(environment)).content.decode()
        assert [f"deployment-{d.pk}" for d in made[::-1][:3]] == re.findall(
            r'id="(deployment-\d+)"', first
        )
        assert "Page 1 of 3" in first
        last = viewer.get(environment_url(environment) + "?page=3").content.decode()
        assert re.findall(r'id="(deployment-\d+)"', last) == [f"deployment-{made[0].pk}"]
        # A page past the end or not a number shows a real page, not an error.
        assert viewer.get(environment_url(environment) + "?page=99").status_code == 200
        assert viewer.get(environment_url(environment) + "?page=x").status_code == 200

    def test_the_gate_link_appears_only_when_the_gate_page_exists(self, viewer):
        environment = EnvironmentFactory()
        html = viewer.get(environment_url(environment)).content.decode()
        url = releases.gate_url(environment)
        assert (f'href="{url}"' in html) == bool(url)

    def test_the_query_count_does_not_grow_with_deployments(self, viewer):
        counts = []
        for size in (1, 50):
            system = System()
            good = system.deploy(-1000)
            system.snaps(-999, -960, every=5)
            incident = IncidentFactory(service=system.service, started_at=at(-500))
            for i in range(size - 1):
                deployment = system.deploy(-400 + i, health=Deployment.Health.UNKNOWN)
                GateRun.objects.create(
                    service=system.service,
                    environment=system.production,
                    commit_sha=deployment.commit_sha,
                    verdict=GateRun.Verdict.BLOCK,
                    deployment=deployment,
                )
                CauseFactory(incident=incident, deployment=deployment)
            with CaptureQueriesContext(connection) as captured:
                html = viewer.get(environment_url(system.production)).content.decode()
            assert len(rows(html)) == min(size, releases.PAGE_SIZE)
            assert good.commit_sha[:7] in html
            counts.append(len(captured.captured_queries))
        # Session and user (2), permissions (2), environment (1), last known good (1), count
        # and page (2), gate runs (1), incident links (2).
        assert counts == [11, 11], counts
