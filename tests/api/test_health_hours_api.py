"""GET /api/v1/health-hours: the hourly roll-ups retention keeps once raw results are deleted,
so tooling can still read an old incident's health; as documented, in a fixed number of
queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from deployments.models import CheckResult, CheckResultHourly
from deployments.services.retention import results_roll_up
from tests.api.test_incidents_api import API, assert_documented, bearer
from tests.factories import T0, HealthCheckFactory, user_with_role
from tests.incidents.test_system_panel import outage

pytestmark = pytest.mark.django_db

HOURS = f"{API}/health-hours"


@pytest.fixture
def api() -> APIClient:
    return bearer(user_with_role("viewer"), scope="read")


@pytest.fixture(scope="module")
def openapi():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def old_outage():
    system, incident, _good, _bad = outage()
    results_roll_up(before=T0 + timedelta(days=1))
    assert not CheckResult.objects.exists()
    return system, incident


def test_an_old_outage_is_answered_per_check_and_hour_newest_first(api, openapi, old_outage):
    system, _incident = old_outage
    url = f"{HOURS}?service={system.service.slug}"
    response = api.get(url)
    assert response.status_code == 200, response.content
    assert_documented(openapi, HOURS, "GET", url, response)
    rows = response.json()["results"]
    assert [(row["hour"], row["name"]) for row in rows[:2]] == [
        ("2026-01-02T06:00:00Z", "Check 1"),
        ("2026-01-02T06:00:00Z", "Check 0"),
    ]
    six = rows[1]
    assert six["service"] == system.service.slug
    assert six["health_check"] == system.checks[0].pk
    assert (six["samples"], six["ok_count"], six["maintenance_count"]) == (23, 13, 0)


def test_hours_filter_by_check_and_time(api, old_outage):
    system, _incident = old_outage
    check = system.checks[0]
    response = api.get(
        HOURS,
        {
            "health_check": check.pk,
            "hour_after": "2026-01-02T05:00:00Z",
            "hour_before": "2026-01-02T06:00:00Z",
        },
    )
    assert response.status_code == 200, response.content
    assert [(row["hour"], row["health_check"]) for row in response.json()["results"]] == [
        ("2026-01-02T05:00:00Z", check.pk)
    ]


def test_a_bad_time_is_a_problem_400(api):
    response = api.get(HOURS, {"hour_after": "yesterday"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_it_needs_credentials():
    assert APIClient().get(HOURS).status_code == 401


def test_hours_cannot_be_written(api):
    assert api.post(HOURS, {}).status_code in (403, 405)


def test_the_query_count_does_not_grow_with_the_hours(api):
    check = HealthCheckFactory()
    counts = []
    for total in (1, 50):
        CheckResultHourly.objects.all().delete()
        CheckResultHourly.objects.bulk_create(
            CheckResultHourly(
                health_check=check,
                service=check.service,
                hour=T0.replace(minute=0) - timedelta(hours=n),
                samples=60,
                ok_count=59,
            )
            for n in range(total)
        )
        api.get(HOURS)  # the token's first use is stamped once; not what is measured
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(HOURS)
        assert len(response.json()["results"]) == total
        counts.append(len(ctx.captured_queries))
        sql = [q["sql"] for q in ctx.captured_queries]
    assert counts == [4, 4], sql
