"""Similar past incidents over the API: the list the incident page's panel shows (each incident's
reference, title, why it is similar and its open action items), read-only, problem+json errors,
in the OpenAPI schema, and the same number of queries for 1 similar incident as for 50."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.roles import Role
from incidents.insights import services as search_services
from incidents.insights.recurrence import selectors
from incidents.models import ActionItem, Cause, Incident
from tests.api.test_incidents_api import API, bearer, problem_type
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    ServiceFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db


def past(title: str, days_ago: int, **kwargs) -> Incident:
    return IncidentFactory(
        title=title,
        started_at=T0 - timedelta(days=days_ago),
        resolved_at=T0 - timedelta(days=days_ago) + timedelta(hours=1),
        status=Incident.Status.RESOLVED,
        **kwargs,
    )


@pytest.fixture
def history() -> dict[str, Incident]:
    """An incident on checkout with a capacity cause; an earlier checkout incident with one too
    (and work left open), one elsewhere with a close title, and one alike in nothing."""
    checkout = ServiceFactory(name="Checkout", slug="checkout")
    login = ServiceFactory(name="Login", slug="login")
    now = IncidentFactory(service=checkout, title="Payment workers overloaded at peak")
    CauseFactory(incident=now, category=Cause.Category.CAPACITY)

    same_category = past("Queue grew past its limit", 30, service=checkout, severity="sev2")
    CauseFactory(incident=same_category, category=Cause.Category.CAPACITY)
    ActionItemFactory(
        incident=same_category,
        title="Scale the workers on queue depth",
        priority="p1",
        owner=UserFactory(username="ada"),
        due_date=date(2026, 1, 20),
    )
    ActionItemFactory(
        incident=same_category, title="Write the capacity runbook", status="in_progress"
    )
    ActionItemFactory(incident=same_category, title="Page the on-call", status="done", done_at=T0)
    close_title = past("Payment workers overloaded again", 10, service=login)
    past("Logo renders blurry", 5, service=checkout)
    search_services.search_documents_rebuild()
    return {"now": now, "same_category": same_category, "close_title": close_title}


@pytest.fixture
def viewer() -> APIClient:
    return bearer(user_with_role(Role.VIEWER), scope="read")


def similar_url(incident: Incident) -> str:
    return f"{API}/incidents/{incident.reference}/similar"


def test_the_answer_is_the_panels_list_with_reasons_and_open_items(viewer, history):
    response = viewer.get(similar_url(history["now"]))

    assert response.status_code == 200, response.content
    body = response.json()
    panel = selectors.similar_incidents(Incident.objects.get(pk=history["now"].pk))
    assert [found["reference"] for found in body] == [s.incident.reference for s in panel]
    by_ref = {found["reference"]: found for found in body}
    queue = by_ref[history["same_category"].reference]
    assert queue["title"] == "Queue grew past its limit"
    assert queue["service"] == {"slug": "checkout", "name": "Checkout"}
    assert queue["severity"] == "sev2"
    assert queue["reasons"] == ["same_category"]
    assert queue["category"] == "capacity"
    assert queue["open_action_items_count"] == 2
    assert queue["open_action_items"] == [
        {
            "id": ActionItem.objects.get(title="Scale the workers on queue depth").pk,
            "title": "Scale the workers on queue depth",
            "status": "open",
            "priority": "p1",
            "owner": "ada",
            "due_date": "2026-01-20",
        },
        {
            "id": ActionItem.objects.get(title="Write the capacity runbook").pk,
            "title": "Write the capacity runbook",
            "status": "in_progress",
            "priority": "p2",
            "owner": None,
            "due_date": None,
        },
    ]
    elsewhere = by_ref[history["close_title"].reference]
    assert elsewhere["reasons"] == ["close_text"]
    assert elsewhere["category"] == ""
    assert elsewhere["open_action_items"] == []
    assert "Logo renders blurry" not in {found["title"] for found in body}


def test_an_incident_like_no_other_answers_an_empty_list(viewer):
    alone = IncidentFactory(title="Something never seen before")
    response = viewer.get(similar_url(alone))
    assert response.status_code == 200
    assert response.json() == []


def test_an_unknown_reference_is_a_404_problem(viewer):
    response = viewer.get(f"{API}/incidents/INC-424242/similar")
    assert response.status_code == 404
    assert problem_type(response) == "not-found"


def test_without_a_token_it_is_a_401_problem(history):
    response = APIClient().get(similar_url(history["now"]))
    assert response.status_code == 401
    assert problem_type(response) == "not-authenticated"


def test_it_is_read_only(history):
    editor = bearer(user_with_role(Role.EDITOR))
    response = editor.post(similar_url(history["now"]), {}, format="json")
    assert response.status_code == 405
    assert problem_type(response) == "method-not-allowed"


def test_the_schema_describes_the_operation_and_its_answer():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/incidents/{ref}/similar"]["get"]
    assert operation["operationId"] == "incident_similar"
    assert set(operation["responses"]) >= {"200", "401", "403", "404"}
    answer = schema["components"]["schemas"]["SimilarIncident"]["properties"]
    assert answer["reasons"]["items"] == {"$ref": "#/components/schemas/SimilarReasonEnum"}
    assert schema["components"]["schemas"]["SimilarReasonEnum"]["enum"] == [
        "same_checks",
        "same_category",
        "same_category_elsewhere",
        "close_text",
    ]
    assert set(answer) >= {"reference", "title", "reasons", "open_action_items"}


@pytest.mark.parametrize("history_size", [1, 50])
def test_it_costs_the_same_queries_for_1_similar_incident_and_for_50(history_size):
    service = ServiceFactory()
    current = IncidentFactory(service=service, title="Queue backlog on the workers again")
    CauseFactory(incident=current, category=Cause.Category.CAPACITY)
    for n in range(history_size):
        old = past(f"Queue backlog on the workers {n}", n + 1, service=service)
        CauseFactory(incident=old, category=Cause.Category.CAPACITY)
        ActionItemFactory.create_batch(3, incident=old, owner=UserFactory())
    search_services.search_documents_rebuild()
    viewer = bearer(user_with_role(Role.VIEWER), scope="read")

    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(similar_url(current))

    assert response.status_code == 200, response.content
    assert len(response.json()) == min(history_size, selectors.SIMILAR_SHOWN)
    assert all(len(found["open_action_items"]) == 3 for found in response.json())
    # The token with its user, its last use, the user's and the groups' permissions, the
    # incident, its failing checks, the same service's incidents with a shared cause category,
    # those with a close title, and their open items with their owners: 9 for 1 and for 50.
    assert len(queries) == 9, [q["sql"][:120] for q in queries.captured_queries]
