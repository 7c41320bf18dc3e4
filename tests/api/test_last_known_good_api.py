"""GET /environments/{id}/last-known-good: where a rollback job should go, as CI asks it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.tokens import token_create
from tests.deployments.test_correlation import System, at
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

PROBLEM = "urn:hindsight:problem:"


@pytest.fixture(autouse=True)
def thirty_minutes(settings):
    settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES = 30


@pytest.fixture
def reader() -> APIClient:
    _token, raw = token_create(user=user_with_role("viewer"), name="rollback job", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def path(system: System) -> str:
    return f"/api/v1/environments/{system.production.pk}/last-known-good"


def test_it_answers_the_proven_deployment_with_its_rollback_command(reader):
    system = System(template="wrangler pages deployment rollback {external_id}")
    good = system.deploy(-100, external_id="dc8023d-0f1e")
    system.snaps(-95, -60, every=5)
    system.deploy(-10, health="unhealthy")  # the broken one that followed

    response = reader.get(path(system))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["external_id"], body["environment"]) == (
        good.pk,
        "dc8023d-0f1e",
        system.production.name,
    )
    assert (body["status"], body["health"]) == ("succeeded", "healthy")
    assert body["rollback_command"] == {
        "text": "wrangler pages deployment rollback dc8023d-0f1e",
        "rendered": True,
        "problem": "",
    }


def test_as_of_a_moment_before_it_was_proven_there_is_none(reader):
    system = System()
    system.deploy(-100)
    system.snaps(-95, -60, every=5)
    earlier = at(-80).isoformat().replace("+00:00", "Z")

    response = reader.get(path(system), {"before": earlier})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == f"{PROBLEM}no-known-good"
    assert earlier.removesuffix("Z") in response.json()["detail"]
    assert reader.get(path(system), {"before": at(0).isoformat()}).status_code == 200


def test_an_environment_with_nothing_proven_is_a_clear_404(reader):
    system = System(template="")
    system.deploy(-100)  # healthy smoke run, but nothing measured it afterwards

    response = reader.get(path(system))

    assert response.status_code == 404
    assert response.json()["type"] == f"{PROBLEM}no-known-good"
    assert "known good yet" in response.json()["detail"]


def test_without_a_template_the_command_is_null(reader):
    system = System(template="")
    system.deploy(-100)
    system.snaps(-95, -60, every=5)
    assert reader.get(path(system)).json()["rollback_command"] is None


@pytest.mark.parametrize("before", ["yesterday", "0900-01-01T00:00:00Z", "2026-13-01T00:00:00Z"])
def test_a_bad_moment_is_a_field_error(reader, before):
    system = System()
    response = reader.get(path(system), {"before": before})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "before" in response.json()["errors"]


def test_an_unknown_environment_is_404_and_strangers_are_401(reader):
    assert reader.get("/api/v1/environments/999999/last-known-good").status_code == 404
    system = System()
    assert APIClient().get(path(system)).status_code == 401


def test_its_query_count_does_not_grow_with_deployments(reader, django_assert_max_num_queries):
    system = System()
    for minute in range(-300, -100, 10):
        system.deploy(minute)
    system.snaps(-299, -60, every=5)
    with django_assert_max_num_queries(6) as captured:
        assert reader.get(path(system)).status_code == 200
    few = len(captured)
    lone = System()
    lone.deploy(-100)
    lone.snaps(-95, -60, every=5)
    with django_assert_max_num_queries(few):
        assert reader.get(path(lone)).status_code == 200
