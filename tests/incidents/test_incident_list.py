from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from incidents.insights.services import search_documents_rebuild
from incidents.models import ActionItem, Incident
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    ServiceFactory,
    UserFactory,
    user_with_role,
)
from tests.helpers import search

pytestmark = pytest.mark.django_db

LIST = "incidents:list"


@pytest.fixture
def reader(client):
    client.force_login(UserFactory())
    return client


def listed(client, **params) -> list[str]:
    """The titles of the incidents the list shows on this page, in order.

    Search reads the incidents' stored search documents, which factories do not write: they
    are built first, as the refresh after each change would."""
    search_documents_rebuild()
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    rows = response.context["page"].object_list
    return [incident.title for incident in rows]


def pager_links(content: str) -> dict[str, dict[str, list[str]]]:
    """The query of each pager link, by its rel (prev / next)."""
    links = {}
    for href, rel in re.findall(r'<a href="([^"]*)" rel="(prev|next)">', content):
        links[rel] = parse_qs(urlsplit(htmllib.unescape(href)).query, keep_blank_values=True)
    return links


class TestAccess:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(reverse(LIST))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("role", Role.values)
    def test_every_role_may_read_the_list(self, client, role):
        client.force_login(user_with_role(role))
        assert client.get(reverse(LIST)).status_code == 200

    def test_declare_button_is_hidden_from_viewers(self, client):
        client.force_login(user_with_role(Role.VIEWER))
        html = client.get(reverse(LIST)).content.decode()
        assert reverse("incidents:declare") not in html
        assert "Declare incident" not in html

    @pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
    def test_declare_button_is_shown_to_editors_and_admins(self, client, role):
        client.force_login(user_with_role(role))
        html = client.get(reverse(LIST)).content.decode()
        assert f'href="{reverse("incidents:declare")}"' in html


class TestFilters:
    def test_status_filter_keeps_only_that_status(self, reader):
        IncidentFactory(title="Looking", status=Incident.Status.INVESTIGATING)
        IncidentFactory(title="Watching", status=Incident.Status.MONITORING)
        assert listed(reader, status="monitoring") == ["Watching"]

    def test_severity_filter_keeps_only_that_severity(self, reader):
        IncidentFactory(title="Critical", severity="sev1")
        IncidentFactory(title="Low", severity="sev4")
        assert listed(reader, severity="sev1") == ["Critical"]

    def test_service_filter_takes_the_service_slug(self, reader):
        IncidentFactory(title="Shop down", service=ServiceFactory(slug="shop"))
        IncidentFactory(title="Blog down", service=ServiceFactory(slug="blog"))
        assert listed(reader, service="shop") == ["Shop down"]

    def test_date_range_includes_both_whole_days(self, reader):
        for day in (1, 2, 3, 4):
            IncidentFactory(
                title=f"Day {day}", started_at=datetime(2026, 2, day, 23, 59, tzinfo=UTC)
            )
        IncidentFactory(title="Day 2 early", started_at=datetime(2026, 2, 2, 0, 0, tzinfo=UTC))
        assert listed(reader, started_from="2026-02-02", started_to="2026-02-03") == [
            "Day 3",
            "Day 2",
            "Day 2 early",
        ]

    def test_open_ended_date_ranges_work(self, reader):
        IncidentFactory(title="Old", started_at=datetime(2025, 6, 1, tzinfo=UTC))
        IncidentFactory(title="New", started_at=datetime(2026, 6, 1, tzinfo=UTC))
        assert listed(reader, started_from="2026-01-01") == ["New"]
        assert listed(reader, started_to="2025-12-31") == ["Old"]

    def test_filters_combine(self, reader):
        shop = ServiceFactory(slug="shop")
        IncidentFactory(title="Match", service=shop, severity="sev1", status="identified")
        IncidentFactory(title="Wrong severity", service=shop, severity="sev2", status="identified")
        IncidentFactory(title="Wrong service", severity="sev1", status="identified")
        assert listed(reader, service="shop", severity="sev1", status="identified") == ["Match"]

    def test_nothing_matching_says_so(self, reader):
        IncidentFactory(severity="sev4")
        html = reader.get(reverse(LIST), {"severity": "sev1"}).content.decode()
        assert "No incidents match these filters." in html


class TestInvalidFilters:
    def test_an_impossible_date_shows_an_error_beside_it_and_keeps_the_text(self, reader):
        IncidentFactory(title="Anything")
        response = reader.get(reverse(LIST), {"started_from": "2026-13-45", "severity": "sev1"})
        assert response.status_code == 200
        html = response.content.decode()
        field = search(r'<input[^>]*name="started_from"[^>]*>', html).group(0)
        assert 'value="2026-13-45"' in field
        assert 'aria-invalid="true"' in field
        assert 'aria-describedby="id_started_from_error"' in field
        error = re.search(r'<span class="error" id="id_started_from_error">([^<]*)</span>', html)
        assert error is not None
        assert "valid date" in error.group(1)
        assert list(response.context["page"].object_list) == []
        assert "Correct the highlighted filter" in html

    def test_to_before_from_is_an_error_on_the_to_date(self, reader):
        response = reader.get(
            reverse(LIST), {"started_from": "2026-02-10", "started_to": "2026-02-01"}
        )
        assert response.status_code == 200
        assert "before the" in response.context["filters"].form.errors["started_to"][0]

    @pytest.mark.parametrize(
        ("name", "value"),
        [("status", "exploded"), ("severity", "sev9"), ("service", "no-such-service")],
    )
    def test_unknown_choices_are_errors_not_crashes(self, reader, name, value):
        response = reader.get(reverse(LIST), {name: value})
        assert response.status_code == 200
        assert name in response.context["filters"].form.errors

    def test_a_page_number_that_is_not_a_number_shows_the_first_page(self, reader):
        IncidentFactory(title="Only one")
        assert listed(reader, page="abc") == ["Only one"]


class TestSearch:
    def test_search_matches_title_and_summary(self, reader):
        IncidentFactory(title="Checkout timeouts")
        IncidentFactory(title="Other", summary="Users saw **checkout** errors.")
        IncidentFactory(title="Unrelated")
        assert sorted(listed(reader, q="CHECKOUT")) == ["Checkout timeouts", "Other"]

    def test_search_matches_cause_titles_and_details(self, reader):
        CauseFactory(incident=IncidentFactory(title="By cause title"), title="Worker missing")
        CauseFactory(
            incident=IncidentFactory(title="By cause detail"),
            detail="The compiled worker was never uploaded.",
        )
        IncidentFactory(title="Unrelated")
        assert sorted(listed(reader, q="worker")) == ["By cause detail", "By cause title"]

    def test_search_matches_action_item_titles(self, reader):
        ActionItemFactory(incident=IncidentFactory(title="By item"), title="Add a smoke test")
        IncidentFactory(title="Unrelated")
        assert listed(reader, q="smoke") == ["By item"]

    def test_every_word_must_match_somewhere(self, reader):
        incident = IncidentFactory(title="Deploy broke the site")
        CauseFactory(incident=incident, title="Missing worker file")
        IncidentFactory(title="Deploy went fine")
        assert listed(reader, q="deploy worker") == ["Deploy broke the site"]

    def test_an_incident_matching_many_rows_is_listed_once_with_its_true_item_count(self, reader):
        incident = IncidentFactory(title="Worker outage")
        for i in range(3):
            CauseFactory(incident=incident, title=f"Worker cause {i}")
            ActionItemFactory(incident=incident, title=f"Fix worker {i}")
        search_documents_rebuild()
        response = reader.get(reverse(LIST), {"q": "worker"})
        rows = list(response.context["page"].object_list)
        assert [row.title for row in rows] == ["Worker outage"]
        assert rows[0].open_action_items == 3
        assert response.context["page"].paginator.count == 1

    def test_search_combines_with_filters(self, reader):
        IncidentFactory(title="Worker down", severity="sev1")
        IncidentFactory(title="Worker slow", severity="sev3")
        assert listed(reader, q="worker", severity="sev3") == ["Worker slow"]


class TestPagination:
    def test_pages_hold_25_and_links_keep_the_filters(self, reader):
        for i in range(60):
            IncidentFactory(title=f"Sev1 {i}", severity="sev1", started_at=T0 - timedelta(hours=i))
        IncidentFactory(title="Sev4", severity="sev4")
        search_documents_rebuild()
        response = reader.get(reverse(LIST), {"severity": "sev1", "q": "sev1", "status": ""})
        assert len(response.context["page"].object_list) == 25
        links = pager_links(response.content.decode())
        assert set(links) == {"next"}
        assert links["next"] == {"severity": ["sev1"], "q": ["sev1"], "page": ["2"]}

        response = reader.get(reverse(LIST), {"severity": "sev1", "q": "sev1", "page": "2"})
        titles = [i.title for i in response.context["page"].object_list]
        assert titles[0] == "Sev1 25"
        links = pager_links(response.content.decode())
        assert links["prev"] == {"severity": ["sev1"], "q": ["sev1"], "page": ["1"]}
        assert links["next"] == {"severity": ["sev1"], "q": ["sev1"], "page": ["3"]}

        response = reader.get(reverse(LIST), {"severity": "sev1", "q": "sev1", "page": "3"})
        assert len(response.context["page"].object_list) == 10
        assert "Sev4" not in [i.title for i in response.context["page"].object_list]

    def test_filter_form_shows_what_was_asked(self, reader):
        html = reader.get(reverse(LIST), {"q": "worker <b>", "severity": "sev2"}).content.decode()
        assert 'value="worker &lt;b&gt;"' in html
        assert '<option value="sev2" selected>' in html


class TestQueryBudget:
    # session, user, the user's permissions (2: can_edit), count, rows, service choices.
    BUDGET = 7

    @pytest.mark.parametrize(
        "params",
        [{}, {"q": "outage", "severity": "sev3", "started_from": "2025-01-01", "service": "svc"}],
        ids=["unfiltered", "filtered"],
    )
    def test_query_count_does_not_grow_with_rows(self, client, params):
        client.force_login(user_with_role(Role.EDITOR))
        service = ServiceFactory(slug="svc")
        counts = []
        for total in (1, 50):
            while service.incidents.count() < total:
                incident = IncidentFactory(service=service, severity="sev3")
                CauseFactory(incident=incident, title="outage cause")
                ActionItemFactory(incident=incident, title="outage fix")
                ActionItemFactory(incident=incident, status=ActionItem.Status.IN_PROGRESS)
            search_documents_rebuild()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(reverse(LIST), params)
            assert response.status_code == 200
            assert len(response.context["page"].object_list) == min(total, 25)
            counts.append(len(ctx.captured_queries))
        # A filtered list also validates the service slug, and a searched one reads its page's
        # snippets: one more query each.
        budget = self.BUDGET + (1 if "service" in params else 0) + (1 if "q" in params else 0)
        assert counts == [budget, budget], counts


class TestOpenItemCounts:
    def test_each_row_counts_its_own_open_and_started_items_only(self, reader):
        busy = IncidentFactory(title="Busy", started_at=T0)
        ActionItemFactory(incident=busy)
        ActionItemFactory(incident=busy, status=ActionItem.Status.IN_PROGRESS)
        ActionItemFactory(incident=busy, status=ActionItem.Status.WONT_DO)
        done = ActionItemFactory(incident=busy)
        done.status, done.done_at = ActionItem.Status.DONE, T0
        done.save()
        IncidentFactory(title="Quiet", started_at=T0 - timedelta(days=1))
        rows = reader.get(reverse(LIST)).context["page"].object_list
        assert [(row.title, row.open_action_items) for row in rows] == [("Busy", 2), ("Quiet", 0)]

    def test_the_page_count_reads_the_incidents_without_their_items(self, reader):
        ActionItemFactory(incident=IncidentFactory())
        with CaptureQueriesContext(connection) as ctx:
            assert reader.get(reverse(LIST)).status_code == 200
        count = next(q["sql"] for q in ctx.captured_queries if "COUNT(*)" in q["sql"])
        assert "incidents_actionitem" not in count

    def test_open_items_are_counted_per_row_not_joined_and_grouped(self, reader):
        # A join grouped by incident counts the items of every incident before the page is cut.
        ActionItemFactory(incident=IncidentFactory())
        with CaptureQueriesContext(connection) as ctx:
            assert reader.get(reverse(LIST)).status_code == 200
        page = next(q["sql"] for q in ctx.captured_queries if '"open_action_items"' in q["sql"])
        assert 'JOIN "incidents_actionitem"' not in page
