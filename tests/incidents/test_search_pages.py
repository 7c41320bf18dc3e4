"""Search pages that cost what they show (issue 18): the matches are counted only up to a limit
(or to the end of the page asked for), and only a page's candidates are ranked, on the page and
in the API alike; the order, the filters and the pages stay what they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from core.roles import Role
from incidents.insights import search
from incidents.insights import services as search_services
from incidents.models import Incident
from tests.api.test_incidents_api import API, bearer
from tests.factories import T0, IncidentFactory, LessonFactory, ServiceFactory, user_with_role

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LIST = "incidents:list"
# Small enough for a test to pass it with a few dozen incidents, above one page of 25.
LIMIT = 30
DASH = "\N{EN DASH}"  # between the first and last row shown, as the page prints it


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch) -> None:
    monkeypatch.setattr(search, "SEARCH_COUNT_LIMIT", LIMIT)


@pytest.fixture
def reader(client):
    client.force_login(user_with_role(Role.VIEWER))
    return client


@pytest.fixture
def api():
    return bearer(user_with_role(Role.EDITOR), scope="read")


def history(*, in_title: int, in_body: int, others: int = 3) -> None:
    """Incidents an hour apart: `in_body` newest mention "zeppelin" in a lesson only, the
    `in_title` before them have it in the title, and `others` do not mention it."""
    service = ServiceFactory()
    at = T0
    for n in range(others):
        IncidentFactory(service=service, started_at=at, title=f"Disk full {n}")
        at += timedelta(hours=1)
    for n in range(in_title):
        IncidentFactory(service=service, started_at=at, title=f"Zeppelin outage {n}")
        at += timedelta(hours=1)
    for n in range(in_body):
        incident = IncidentFactory(service=service, started_at=at, title=f"Slow pages {n}")
        LessonFactory(incident=incident, text="The zeppelin dashboard helped.")
        at += timedelta(hours=1)
    search_services.search_documents_rebuild()


def ranked_numbers(words: str) -> list[int]:
    """Every match in the search's order, as sorting all of them gives it."""
    found = search.incident_search(Incident.objects.counted(), words)
    return list(found.values_list("number", flat=True))


def api_pages(api, **params) -> list[dict]:
    bodies, url = [], f"{API}/incidents"
    while url:
        response = api.get(url, params if url == f"{API}/incidents" else None)
        assert response.status_code == 200, response.content
        bodies.append(response.json())
        url = bodies[-1]["next"]
    return bodies


class TestTheOrder:
    def test_a_title_match_older_than_a_page_of_other_matches_still_comes_first(self, api):
        history(in_title=1, in_body=40)
        first = api.get(f"{API}/incidents", {"q": "zeppelin", "page_size": 10}).json()
        assert first["results"][0]["title"] == "Zeppelin outage 0"
        assert first["results"][0]["search"]["rank"] == 1.0
        assert first["results"][1]["search"]["rank"] == 0.5

    def test_the_api_pages_through_every_match_once_in_the_ranked_order(self, api):
        history(in_title=12, in_body=30)
        pages = api_pages(api, q="zeppelin", page_size=10)
        numbers = [row["number"] for body in pages for row in body["results"]]
        assert numbers == ranked_numbers("zeppelin")
        assert len(numbers) == 42

    def test_the_page_pages_through_every_match_once_in_the_ranked_order(self, reader):
        history(in_title=12, in_body=30)
        numbers = []
        for number in (1, 2):
            response = reader.get(reverse(LIST), {"q": "zeppelin", "page": number})
            numbers += [incident.number for incident in response.context["page"].object_list]
        assert numbers == ranked_numbers("zeppelin")

    def test_filters_still_narrow_the_ranked_pages(self, api):
        history(in_title=3, in_body=3)
        other = ServiceFactory(slug="other")
        IncidentFactory(service=other, title="Zeppelin elsewhere", started_at=T0)
        search_services.search_documents_rebuild()
        rows = api_pages(api, q="zeppelin", service="other")[0]["results"]
        assert [row["title"] for row in rows] == ["Zeppelin elsewhere"]

    def test_the_sqlite_pages_give_the_same_order(self):
        history(in_title=5, in_body=20)
        found = search.plain_search(Incident.objects.counted(), "zeppelin")
        results = search.search_results(found, count=found, full=False)
        numbers = [row.number for start in (0, 10, 20) for row in results[start : start + 10]]
        assert numbers == ranked_numbers("zeppelin")
        assert results.count() == 25


class TestTheCount:
    def test_the_page_says_more_than_the_limit_and_still_offers_the_next_page(self, reader):
        history(in_title=5, in_body=40)
        html = reader.get(reverse(LIST), {"q": "zeppelin"}).content.decode()
        assert f"1{DASH}25 of more than {LIMIT} incidents" in html
        assert 'aria-current="page">Page 1</span>' in html
        assert 'rel="next"' in html

    def test_a_page_past_the_limit_counts_to_its_own_end(self, reader):
        history(in_title=5, in_body=40)
        html = reader.get(reverse(LIST), {"q": "zeppelin", "page": 2}).content.decode()
        assert f"26{DASH}45 of 45 incidents" in html
        assert "Page 2 of 2" in html
        assert 'rel="next"' not in html

    def test_the_page_counts_exactly_up_to_the_limit(self, reader):
        history(in_title=10, in_body=20)
        html = reader.get(reverse(LIST), {"q": "zeppelin"}).content.decode()
        assert f"1{DASH}25 of {LIMIT} incidents" in html
        assert "Page 1 of 2" in html

    def test_the_api_leaves_the_count_out_when_it_counted_only_so_far(self, api):
        history(in_title=5, in_body=40)
        first = api.get(f"{API}/incidents", {"q": "zeppelin", "page_size": 25}).json()
        assert "count" not in first
        assert first["next"] is not None
        assert len(first["results"]) == 25
        second = api.get(f"{API}/incidents", {"q": "zeppelin", "page_size": 25, "page": 2})
        assert second.json()["count"] == 45
        assert second.json()["next"] is None

    def test_the_api_counts_every_match_for_the_last_page(self, api):
        history(in_title=5, in_body=40)
        body = api.get(f"{API}/incidents", {"q": "zeppelin", "page_size": 20, "page": "last"})
        assert body.status_code == 200
        assert body.json()["count"] == 45
        assert [row["number"] for row in body.json()["results"]] == ranked_numbers("zeppelin")[40:]

    def test_an_ordering_asked_for_is_counted_only_so_far_too(self, api):
        history(in_title=5, in_body=40)
        params = {"q": "zeppelin", "ordering": "started_at", "page_size": 25}
        body = api.get(f"{API}/incidents", params).json()
        assert "count" not in body
        oldest = Incident.objects.filter(number__in=ranked_numbers("zeppelin"))
        expected = list(oldest.order_by("started_at").values_list("number", flat=True)[:25])
        assert [row["number"] for row in body["results"]] == expected

    def test_the_schema_says_when_the_count_is_left_out(self):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        page = schema["components"]["schemas"]["PaginatedIncidentListList"]
        assert "count" not in page["required"]
        assert "`q`" in page["properties"]["count"]["description"]


class TestQueryBudget:
    def test_a_search_past_the_limit_costs_the_queries_of_one_within_it(self, reader, api):
        history(in_title=2, in_body=5)
        api.get(f"{API}/incidents")  # the token's first use is marked once; not part of the budget
        with CaptureQueriesContext(connection) as page_few:
            reader.get(reverse(LIST), {"q": "zeppelin"})
        with CaptureQueriesContext(connection) as api_few:
            assert "count" in api.get(f"{API}/incidents", {"q": "zeppelin"}).json()
        history(in_title=5, in_body=40)
        with CaptureQueriesContext(connection) as page_many:
            reader.get(reverse(LIST), {"q": "zeppelin"})
        with CaptureQueriesContext(connection) as api_many:
            assert "count" not in api.get(f"{API}/incidents", {"q": "zeppelin"}).json()
        assert len(page_few) == len(page_many)
        assert len(api_few) == len(api_many)
