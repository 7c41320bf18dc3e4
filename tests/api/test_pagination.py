"""Pages of the API's lists: numbered pages (with `page=last`) on every list, keyset pages
(`cursor`) on the long ones, and counts and pages that do not join or repeat what they need not.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from api.tokens import token_create
from incidents.models import ActionItem
from tests.factories import (
    T0,
    ActionItemFactory,
    ChangeFactory,
    DeploymentFactory,
    EnvironmentFactory,
    IncidentFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
PROBLEM = "application/problem+json"


def bearer(role: str, **extra) -> APIClient:
    user = user_with_role(role, username=f"pager-{role}", **extra)
    _token, raw = token_create(user=user, name="tests", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api() -> APIClient:
    """A superuser's: every list, tokens included, is theirs to read."""
    return bearer("admin", is_superuser=True, is_staff=True)


def numbered_lists() -> list[str]:
    """Every list of the API with numbered pages, as the schema lists them."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(
        path.removeprefix(API)
        for path, operations in paths.items()
        if any(p["name"] == "page" for p in operations.get("get", {}).get("parameters", []))
    )


NUMBERED_LISTS = numbered_lists()
KEYSET_LISTS = ["/incidents", "/deployments", "/changes"]


def get(client: APIClient, path: str, **params):
    return client.get(f"{API}{path}", params)


def rows_of(client: APIClient, path: str, **params) -> list[dict]:
    response = get(client, path, **params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def cursor_of(url: str | None) -> str | None:
    if url is None:
        return None
    return parse_qs(urlsplit(url).query)["cursor"][0]


@pytest.fixture
def incidents():
    """Five incidents an hour apart, INC-1 the oldest."""
    return [
        IncidentFactory(number=n, started_at=T0 + timedelta(hours=n), title=f"Outage {n}")
        for n in range(1, 6)
    ]


class TestLastPage:
    def test_every_numbered_list_is_in_the_test(self):
        # The lists come from the schema; a list that loses its page parameter must say so.
        assert {"/incidents", "/action-items", "/deployments", "/changes", "/tokens"} <= set(
            NUMBERED_LISTS
        )

    @pytest.mark.parametrize("path", NUMBERED_LISTS)
    def test_page_last_answers_the_last_page_of_every_numbered_list(self, api, path):
        IncidentFactory(number=1)
        response = get(api, path.replace("{incident_ref}", "INC-1"), page="last")
        assert response.status_code == 200, response.content
        assert response.json()["next"] is None

    def test_page_last_of_incidents_holds_the_oldest_ones(self, api, incidents):
        body = get(api, "/incidents", page="last", page_size=2).json()
        assert body["count"] == 5
        assert [row["reference"] for row in body["results"]] == ["INC-1"]
        assert parse_qs(urlsplit(body["previous"]).query)["page"] == ["2"]

    def test_page_last_of_an_empty_list_is_an_empty_first_page(self, api):
        body = get(api, "/deployments", page="last").json()
        assert body["count"] == 0
        assert body["results"] == []

    def test_a_page_past_the_last_is_still_a_404(self, api, incidents):
        assert get(api, "/incidents", page=4, page_size=2).status_code == 404


class TestKeysetPages:
    def test_an_empty_cursor_starts_at_the_first_page_without_a_count(self, api, incidents):
        body = get(api, "/incidents", cursor="", page_size=2).json()
        assert [row["reference"] for row in body["results"]] == ["INC-5", "INC-4"]
        assert "count" not in body
        assert body["previous"] is None

    def test_following_next_walks_the_whole_list_once_in_order(self, api, incidents):
        seen: list[str] = []
        cursor: str | None = ""
        while cursor is not None:
            body = get(api, "/incidents", cursor=cursor, page_size=2).json()
            seen += [row["reference"] for row in body["results"]]
            cursor = cursor_of(body["next"])
        assert seen == ["INC-5", "INC-4", "INC-3", "INC-2", "INC-1"]

    def test_previous_leads_back_to_the_page_before(self, api, incidents):
        first = get(api, "/incidents", cursor="", page_size=2).json()
        second = get(api, "/incidents", cursor=cursor_of(first["next"]), page_size=2).json()
        back = get(api, "/incidents", cursor=cursor_of(second["previous"]), page_size=2).json()
        assert back["results"] == first["results"]

    def test_a_row_arriving_between_pages_neither_repeats_nor_skips_a_row(self, api, incidents):
        first = get(api, "/incidents", cursor="", page_size=2).json()
        IncidentFactory(number=6, started_at=T0 + timedelta(hours=6))
        second = get(api, "/incidents", cursor=cursor_of(first["next"]), page_size=2).json()
        assert [row["reference"] for row in second["results"]] == ["INC-3", "INC-2"]

    def test_keyset_pages_keep_the_filters_and_the_ordering(self, api, incidents):
        incidents[0].severity = "sev1"
        incidents[0].save()
        body = get(api, "/incidents", cursor="", ordering="started_at", severity="sev3").json()
        assert [row["reference"] for row in body["results"]] == ["INC-2", "INC-3", "INC-4", "INC-5"]

    def test_deployments_and_changes_have_keyset_pages_too(self, api):
        production = EnvironmentFactory()
        DeploymentFactory.create_batch(3, environment=production)
        ChangeFactory.create_batch(3, service=production.service)
        for path in ("/deployments", "/changes"):
            first = get(api, path, cursor="", page_size=2).json()
            rest = get(api, path, cursor=cursor_of(first["next"]), page_size=2).json()
            ids = [row["id"] for row in first["results"] + rest["results"]]
            assert len(ids) == len(set(ids)) == 3, path
            assert rest["next"] is None

    def test_page_and_cursor_together_are_refused(self, api, incidents):
        response = get(api, "/incidents", cursor="", page=2)
        assert response.status_code == 400
        assert response["Content-Type"] == PROBLEM
        assert "cursor" in response.json()["errors"]

    def test_a_cursor_on_a_list_with_numbered_pages_only_is_refused(self, api):
        response = get(api, "/action-items", cursor="")
        assert response.status_code == 400
        assert response["Content-Type"] == PROBLEM
        assert "numbered pages only" in response.json()["errors"]["cursor"][0]

    def test_a_bad_page_size_is_refused_on_keyset_pages_as_on_numbered_ones(self, api):
        assert get(api, "/incidents", cursor="", page_size=0).status_code == 400

    def test_a_garbled_cursor_is_a_404_problem(self, api, incidents):
        response = get(api, "/incidents", cursor="not-a-cursor!")
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM

    @pytest.mark.parametrize("path", KEYSET_LISTS)
    def test_a_keyset_page_costs_the_same_for_1_and_50_rows(self, path):
        api = bearer("viewer")
        production = EnvironmentFactory()

        def add(count: int) -> None:
            for _ in range(count):
                IncidentFactory(service=production.service)
                DeploymentFactory(environment=production)
                ChangeFactory(service=production.service, environment=production)

        get(api, path)  # marks the token used: a write that later requests skip
        counts = []
        for total in (1, 50):
            add(total - len(rows_of(api, path, page_size=200)))
            with CaptureQueriesContext(connection) as captured:
                assert len(rows_of(api, path, cursor="", page_size=50)) == total
            counts.append(len(captured))
        # The token with its user, the role's permissions (2), the page; no count. Incidents
        # add their page's labels and external references (2).
        expected = 4 + (2 if path == "/incidents" else 0)
        assert counts == [expected, expected]


@pytest.fixture(scope="module")
def paths() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


class TestSchema:
    @staticmethod
    def parameter(paths: dict, path: str, name: str) -> dict | None:
        parameters = paths[f"{API}{path}"]["get"]["parameters"]
        return next((p for p in parameters if p["name"] == name), None)

    @pytest.mark.parametrize("path", KEYSET_LISTS)
    def test_the_long_lists_document_their_cursor(self, paths, path):
        cursor = self.parameter(paths, path, "cursor")
        assert cursor is not None
        assert "empty for the first page" in cursor["description"]

    def test_lists_with_numbered_pages_only_have_no_cursor(self, paths):
        assert self.parameter(paths, "/action-items", "cursor") is None

    def test_page_takes_a_number_or_last(self, paths):
        page = self.parameter(paths, "/incidents", "page")
        assert page is not None
        assert {"type": "string", "enum": ["last"]} in page["schema"]["oneOf"]


class TestLeanQueries:
    def queries(self, client: APIClient, path: str, **params) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = get(client, path, **params)
        assert response.status_code == 200, response.content
        return [query["sql"] for query in captured.captured_queries]

    def test_the_incident_count_reads_the_incidents_alone(self, api, incidents):
        count = next(sql for sql in self.queries(api, "/incidents") if "COUNT(" in sql)
        assert "JOIN" not in count

    def test_the_deployment_count_joins_only_what_a_filter_needs(self, api):
        production = EnvironmentFactory()
        DeploymentFactory.create_batch(2, environment=production)
        plain = next(sql for sql in self.queries(api, "/deployments") if "COUNT(" in sql)
        assert "JOIN" not in plain
        slug = production.service.slug
        filtered = next(
            sql for sql in self.queries(api, "/deployments", service=slug) if "COUNT(" in sql
        )
        assert "deployments_service" in filtered

    def test_open_action_items_are_listed_without_distinct_and_once_each(self, api):
        incident = IncidentFactory()
        ActionItemFactory.create_batch(3, incident=incident)
        ActionItemFactory(incident=incident, status=ActionItem.Status.IN_PROGRESS)
        sqls = self.queries(api, "/action-items", status=["open", "in_progress"])
        assert not [sql for sql in sqls if "DISTINCT" in sql]
        body = get(api, "/action-items", status=["open", "in_progress"]).json()
        assert body["count"] == 4
        assert len({row["id"] for row in body["results"]}) == 4

    def test_the_action_item_count_reads_the_items_alone(self, api):
        ActionItemFactory.create_batch(2)
        count = next(sql for sql in self.queries(api, "/action-items") if "COUNT(" in sql)
        assert "JOIN" not in count


class TestFilteredBudgets:
    """Pinned for filtered lists too: a filter's join goes into the count and the page, never a
    query per row. The token with its user (1), the role's permissions (2), count, page."""

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/incidents", {"service": "pinned", "severity": "sev3"}),
            ("/action-items", {"status": "open", "service": "pinned"}),
            ("/deployments", {"service": "pinned", "environment": "production"}),
            ("/changes", {"service": "pinned"}),
        ],
    )
    def test_a_filtered_list_costs_the_same_for_1_and_50_rows(self, path, params):
        api = bearer("viewer")
        production = EnvironmentFactory(service__slug="pinned")
        owner = user_with_role("editor", username="owner")

        def add() -> None:
            incident = IncidentFactory(service=production.service)
            ActionItemFactory(incident=incident, owner=owner)
            DeploymentFactory(environment=production)
            ChangeFactory(service=production.service, environment=production)

        get(api, path)  # marks the token used: a write that later requests skip
        counts = []
        for total in (1, 50):
            while len(rows_of(api, path, page_size=200, **params)) < total:
                add()
            with CaptureQueriesContext(connection) as captured:
                assert len(rows_of(api, path, **params)) == total
            counts.append(len(captured))
        # Incidents add their page's labels and external references (2).
        expected = 5 + (2 if path == "/incidents" else 0)
        assert counts == [expected, expected], [q["sql"] for q in captured.captured_queries]
