"""Similar past incidents by cause category: the same service with a cause of the same category
is similar; the same category on another service only ranks what a close title found, and is
never enough alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from core.roles import Role
from incidents.insights import services as search_services
from incidents.insights.recurrence import selectors
from incidents.models import Cause, Incident
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    ServiceFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

NOW = T0
Category = Cause.Category


def incident(title: str, days_ago: int, service, *categories: str) -> Incident:
    started = NOW - timedelta(days=days_ago)
    past = IncidentFactory(
        title=title,
        service=service,
        started_at=started,
        resolved_at=started + timedelta(hours=1),
        status=Incident.Status.RESOLVED,
    )
    for category in categories:
        CauseFactory(incident=past, title=f"A {category or 'blank'} cause", category=category)
    return past


@pytest.fixture
def history():
    """A search service that ran out of memory; before it, the same service ran out once in
    other words, broke in other ways, and other services ran out of capacity too."""
    search = ServiceFactory(name="Search", slug="search")
    billing = ServiceFactory(name="Billing", slug="billing")
    near = incident("Indexer killed by the kernel", 50, search, Category.CAPACITY, Category.CODE)
    ActionItemFactory(incident=near, title="Cap the indexer's batch size")
    incident("Typo in the ranking weights", 40, search, Category.CONFIGURATION)
    incident("Results missing for a day", 30, search, "")  # no category: matches nothing
    incident("Invoice batch exhausted the heap at month end", 20, billing, Category.CAPACITY)
    now = IncidentFactory(
        service=search, title="Search nodes run out of memory during reindexing", started_at=NOW
    )
    CauseFactory(incident=now, title="Heap too small", category=Category.CAPACITY)
    CauseFactory(incident=now, title="Not yet sorted", category="")
    incident("Search ran out of capacity again", -3, search, Category.CAPACITY)  # later
    search_services.search_documents_rebuild()
    return now


def titles(found: list[selectors.Similar]) -> list[str]:
    return [similar.incident.title for similar in found]


def test_the_same_service_with_a_cause_of_the_same_category_is_found_and_others_are_not(history):
    found = selectors.similar_incidents(history, now=NOW)
    assert titles(found) == ["Indexer killed by the kernel"]
    [near] = found
    assert near.same_category
    assert not near.same_checks
    assert not near.close_text
    assert not near.category_elsewhere
    assert near.category_label == "Capacity or load"
    assert [item.title for item in near.open_items] == ["Cap the indexer's batch size"]


def test_an_incident_without_categorised_causes_finds_none_by_category(history):
    CauseFactory(incident=history, title="Also blank", category="")
    Cause.objects.filter(incident=history).update(category="")
    assert selectors.similar_incidents(history, now=NOW) == []


def test_the_same_category_elsewhere_ranks_a_close_title_first_but_finds_nothing_alone(history):
    ledger = ServiceFactory(name="Ledger", slug="ledger")
    newer = incident("Search nodes out of memory while reindexing", 5, ledger)
    older = incident("Search nodes ran out of memory reindexing", 60, ledger, Category.CAPACITY)
    search_services.search_documents_rebuild()

    found = selectors.similar_incidents(history, now=NOW)

    # Close text and the category elsewhere (1.5) first; then the newest of the two that are
    # alike one strong way (1 each); the other service's category-only match not at all.
    assert titles(found) == [older.title, newer.title, "Indexer killed by the kernel"]
    assert found[0].close_text
    assert found[0].category_elsewhere
    assert not found[0].same_category
    assert "Invoice batch exhausted the heap at month end" not in titles(found)


def test_the_panel_names_the_shared_category(client, history):
    client.force_login(user_with_role(Role.VIEWER))
    html = client.get(
        reverse("incidents:similar_panel", args=[history.reference]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Indexer killed by the kernel" in html
    assert "Same cause category: Capacity or load" in html
    assert "Typo in the ranking weights" not in html
    assert "Invoice batch exhausted the heap" not in html
