"""Action items across incidents: filters, default order, ticking done and reopening."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from incidents.models import ActionItem
from tests.api.test_incidents_api import API, bearer, errors, problem_type
from tests.factories import (
    ActionItemFactory,
    IncidentFactory,
    ServiceFactory,
    UserFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

ITEMS = f"{API}/action-items"


@pytest.fixture
def editor():
    return user_with_role("editor")


@pytest.fixture
def api(editor):
    return bearer(editor)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def today():
    return timezone.localdate()


def _no_other_snapshot_in_this_database(wait: float = 15.0) -> None:
    """Wait until no other connection to this test database holds a snapshot. VACUUM marks a
    page all-visible only when its rows are older than every snapshot open in the database, so
    a transaction elsewhere (a task a test's worker is still running, say) would leave the new
    rows' pages unmarked, and the count would read the table instead of the index."""
    deadline = time.monotonic() + wait
    holders: list = []
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, state, left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND backend_xmin IS NOT NULL"
            )
            holders = cursor.fetchall()
        if not holders:
            return
        time.sleep(0.1)
    pytest.fail(f"other connections kept a snapshot open for {wait:.0f} s: {holders}")


class TestList:
    def test_overdue_first_then_by_due_date_with_undated_last(self, api, today):
        undated = ActionItemFactory(priority="p1")
        later = ActionItemFactory(due_date=today + timedelta(days=9))
        soon = ActionItemFactory(due_date=today + timedelta(days=1))
        overdue = ActionItemFactory(due_date=today - timedelta(days=1))
        very_overdue = ActionItemFactory(due_date=today - timedelta(days=5))
        done_late = ActionItemFactory(
            due_date=today - timedelta(days=9), status="done", done_at=timezone.now()
        )
        assert ids(api.get(ITEMS)) == [
            very_overdue.pk,
            overdue.pk,
            done_late.pk,
            soon.pk,
            later.pk,
            undated.pk,
        ]

    def test_open_items_asked_by_status_keep_the_same_order(self, api, today):
        # Open only, the list is ordered by due date alone (an index holds it): the same order.
        undated = ActionItemFactory(priority="p1")
        later_p2 = ActionItemFactory(due_date=today + timedelta(days=9), priority="p2")
        later_p1 = ActionItemFactory(due_date=today + timedelta(days=9), priority="p1")
        started = ActionItemFactory(due_date=today - timedelta(days=1), status="in_progress")
        very_overdue = ActionItemFactory(due_date=today - timedelta(days=5))
        ActionItemFactory(due_date=today - timedelta(days=9), status="done", done_at=timezone.now())
        asked = api.get(ITEMS, {"status": ["open", "in_progress"]})
        assert ids(asked) == [very_overdue.pk, started.pk, later_p1.pk, later_p2.pk, undated.pk]
        assert [row["overdue"] for row in asked.json()["results"]] == [
            True,
            True,
            False,
            False,
            False,
        ]

    def test_a_row_says_where_it_belongs_and_whether_it_is_overdue(self, api, today):
        incident = IncidentFactory(number=7, service=ServiceFactory(slug="checkout"))
        ActionItemFactory(incident=incident, due_date=today - timedelta(days=1))
        row = api.get(ITEMS).json()["results"][0]
        assert (row["incident"], row["service"], row["overdue"]) == ("INC-7", "checkout", True)

    def test_filters_by_owner_name_or_me(self, api, editor):
        mine = ActionItemFactory(owner=editor)
        anas = ActionItemFactory(owner=UserFactory(username="ana"))
        ActionItemFactory()
        assert ids(api.get(ITEMS, {"owner": "me"})) == [mine.pk]
        assert ids(api.get(ITEMS, {"owner": "ana"})) == [anas.pk]
        assert ids(api.get(ITEMS, {"owner": "nobody"})) == []

    def test_filters_by_one_or_several_statuses(self, api):
        open_item = ActionItemFactory()
        doing = ActionItemFactory(status="in_progress")
        ActionItemFactory(status="done", done_at=timezone.now())
        assert ids(api.get(ITEMS, {"status": "in_progress"})) == [doing.pk]
        response = api.get(f"{ITEMS}?status=open&status=in_progress&ordering=id")
        assert ids(response) == [open_item.pk, doing.pk]

    def test_filters_by_overdue_either_way(self, api, today):
        late = ActionItemFactory(due_date=today - timedelta(days=1))
        on_time = ActionItemFactory(due_date=today)
        ActionItemFactory(due_date=today - timedelta(days=1), status="wont_do")
        assert ids(api.get(ITEMS, {"overdue": "true"})) == [late.pk]
        assert on_time.pk in ids(api.get(ITEMS, {"overdue": "false"}))
        assert late.pk not in ids(api.get(ITEMS, {"overdue": "false"}))

    def test_filters_by_due_dates_half_open(self, api, today):
        first = ActionItemFactory(due_date=today)
        second = ActionItemFactory(due_date=today + timedelta(days=1))
        ActionItemFactory(due_date=today + timedelta(days=2))
        window = {
            "due_after": today.isoformat(),
            "due_before": (today + timedelta(days=2)).isoformat(),
        }
        assert ids(api.get(ITEMS, window)) == [first.pk, second.pk]

    def test_filters_by_horizon_blocking_incident_and_service(self, api):
        checkout = ServiceFactory(slug="checkout")
        incident = IncidentFactory(number=3, service=checkout)
        blocking = ActionItemFactory(incident=incident, blocks_deployments=True, horizon="today")
        other = ActionItemFactory(incident=incident)
        elsewhere = ActionItemFactory(blocks_deployments=True, horizon="today")
        assert ids(api.get(ITEMS, {"blocks_deployments": "true", "ordering": "id"})) == [
            blocking.pk,
            elsewhere.pk,
        ]
        assert ids(api.get(ITEMS, {"horizon": "today", "service": "checkout"})) == [blocking.pk]
        assert ids(api.get(ITEMS, {"incident": "inc-3", "ordering": "id"})) == [
            blocking.pk,
            other.pk,
        ]
        assert ids(api.get(ITEMS, {"incident": "INC-4"})) == []

    def test_ordering_can_be_asked_for(self, api):
        first = ActionItemFactory(priority="p3")
        second = ActionItemFactory(priority="p1")
        assert ids(api.get(ITEMS, {"ordering": "-priority"})) == [first.pk, second.pk]

    @pytest.mark.parametrize(
        ("param", "value"),
        [
            ("overdue", "maybe"),
            ("blocks_deployments", "yes"),
            ("status", "finished"),
            ("horizon", "someday"),
            ("incident", "PRJ-1"),
            ("incident", "INC-1234567890"),
            ("due_before", "soon"),
            ("due_after", "2026-02-30"),
            ("incident", " INC-1"),
            ("incident", ""),
            ("overdue", "1"),
            ("owner", "a\x00b"),
            ("page_size", "100000"),
            ("due_before", ""),
            ("overdue", ""),
            ("status", ""),
        ],
    )
    def test_an_invalid_filter_is_a_400_problem(self, api, param, value):
        assert param in errors(api.get(ITEMS, {param: value}))

    def test_query_count_is_the_same_for_1_and_50_items(self, api, today):
        owner = UserFactory()
        ActionItemFactory(owner=owner, due_date=today)
        api.get(ITEMS)  # marks the token used, once
        with CaptureQueriesContext(connection) as one:
            assert len(ids(api.get(ITEMS))) == 1
        parent = ActionItemFactory(owner=owner)
        ActionItemFactory.create_batch(48, owner=owner, parent=parent, due_date=today)
        with CaptureQueriesContext(connection) as fifty:
            assert len(ids(api.get(ITEMS))) == 50
        # token, user permissions, group permissions, count, page
        assert len(one) == len(fifty) == 5, [q["sql"] for q in fifty.captured_queries]

    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)  # VACUUM, for the visibility map, needs no transaction
    def test_the_count_of_open_items_is_an_index_only_scan_of_the_open_status_index(self, api):
        # A long history: a third of the items open, the rest closed, each with its prose.
        incident = IncidentFactory()
        statuses = ["open", "open", "in_progress", "done", "done", "done", "done", "wont_do"]
        closed_at = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            # The test server commits asynchronously, and VACUUM marks a page all-visible only
            # once the commit of its rows is on disk: this one waits for it.
            cursor.execute("SET LOCAL synchronous_commit = on")
            ActionItem.objects.bulk_create(
                ActionItem(
                    incident=incident,
                    title=f"Item {n}",
                    detail="Why and how, in a few sentences. " * 8,
                    order=n,
                    status=(status := statuses[n % len(statuses)]),
                    done_at=closed_at if status == "done" else None,
                    closed_reason="Not worth it." if status == "wont_do" else "",
                )
                for n in range(8000)
            )
        _no_other_snapshot_in_this_database()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE incidents_actionitem")  # as autovacuum would
        with CaptureQueriesContext(connection) as captured:
            response = api.get(ITEMS, {"status": "open"})
        assert response.json()["count"] == ActionItem.objects.filter(status="open").count() == 2000
        count = next(q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {count}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # Not the table's rows: the few pages of the index, however many items there are.
        assert "Index Only Scan using actionitem_open_status_idx" in plan, plan

    def test_anonymous_gets_401(self, client):
        response = client.get(ITEMS)
        assert response.status_code == 401
        assert problem_type(response) == "not-authenticated"


class TestOneItem:
    def test_reads_one_item(self, api):
        item = ActionItemFactory(title="Check the bundle")
        assert api.get(f"{ITEMS}/{item.pk}").json()["title"] == "Check the bundle"

    @pytest.mark.parametrize("pk", ["999", "99999999999", "0"])
    def test_an_unknown_id_is_a_404_problem(self, api, pk):
        response = api.get(f"{ITEMS}/{pk}")
        assert response.status_code == 404
        assert problem_type(response) == "not-found"

    def test_complete_ticks_it_done_once(self, api, editor):
        item = ActionItemFactory()
        response = api.post(f"{ITEMS}/{item.pk}/complete")
        assert response.status_code == 200, response.content
        data = response.json()
        assert (data["status"], data["overdue"]) == ("done", False)
        assert data["done_at"] is not None
        item.refresh_from_db()
        assert item.done_by == editor
        again = api.post(f"{ITEMS}/{item.pk}/complete")
        assert again.json()["done_at"] == data["done_at"]

    def test_reopen_takes_the_tick_back(self, api):
        item = ActionItemFactory(status="done", done_at=timezone.now())
        data = api.post(f"{ITEMS}/{item.pk}/reopen").json()
        assert (data["status"], data["done_at"]) == ("open", None)

    def test_complete_on_an_unknown_item_is_404(self, api):
        assert api.post(f"{ITEMS}/999/complete").status_code == 404

    @pytest.mark.parametrize("action", ["complete", "reopen", "start", "wont-do"])
    def test_a_viewer_or_a_read_token_gets_403(self, editor, action):
        item = ActionItemFactory(status="done", done_at=timezone.now())
        for client in (bearer(user_with_role("viewer")), bearer(editor, scope="read")):
            response = client.post(f"{ITEMS}/{item.pk}/{action}")
            assert response.status_code == 403
            assert problem_type(response) == "permission-denied"
        item.refresh_from_db()
        assert item.status == ActionItem.Status.DONE

    def test_the_global_list_does_not_take_writes(self, api):
        item = ActionItemFactory()
        assert api.post(ITEMS, {"title": "x"}, format="json").status_code == 405
        assert api.delete(f"{ITEMS}/{item.pk}").status_code == 405


class TestStates:
    """In progress and won't do, set by one-click transitions (no If-Match)."""

    def test_start_puts_an_open_item_in_progress(self, api):
        item = ActionItemFactory()
        response = api.post(f"{ITEMS}/{item.pk}/start")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "in_progress"

    def test_start_on_a_done_item_changes_nothing(self, api):
        item = ActionItemFactory(status="done", done_at=timezone.now())
        assert api.post(f"{ITEMS}/{item.pk}/start").json()["status"] == "done"

    def test_wont_do_keeps_the_reason_and_no_longer_counts_as_overdue(self, api, today):
        item = ActionItemFactory(due_date=today - timedelta(days=2))
        response = api.post(
            f"{ITEMS}/{item.pk}/wont-do", {"reason": "Replaced by the gate"}, format="json"
        )
        assert response.status_code == 200, response.content
        data = response.json()
        assert (data["status"], data["closed_reason"], data["overdue"]) == (
            "wont_do",
            "Replaced by the gate",
            False,
        )
        assert ids(api.get(ITEMS, {"overdue": "true"})) == []

    @pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 7}])
    def test_wont_do_without_a_reason_is_a_400_naming_it(self, api, body):
        item = ActionItemFactory()
        assert "reason" in errors(api.post(f"{ITEMS}/{item.pk}/wont-do", body, format="json"))
        item.refresh_from_db()
        assert item.status == ActionItem.Status.OPEN

    def test_reopen_takes_a_wont_do_back_to_open_without_its_reason(self, api):
        item = ActionItemFactory(status="wont_do")
        data = api.post(f"{ITEMS}/{item.pk}/reopen").json()
        assert (data["status"], data["closed_reason"]) == ("open", "")

    def test_the_list_filters_by_wont_do(self, api):
        dropped = ActionItemFactory(status="wont_do")
        ActionItemFactory()
        assert ids(api.get(ITEMS, {"status": "wont_do"})) == [dropped.pk]


class TestParentWithOpenSteps:
    @pytest.fixture
    def parent(self):
        parent = ActionItemFactory(title="Guard the build")
        ActionItemFactory(incident=parent.incident, parent=parent, title="Write the check")
        ActionItemFactory(
            incident=parent.incident, parent=parent, title="Agree the size", status="in_progress"
        )
        return parent

    @pytest.mark.parametrize(
        ("action", "body"), [("complete", None), ("wont-do", {"reason": "Not now"})]
    )
    def test_closing_it_is_a_409_listing_the_open_steps(self, api, parent, action, body):
        response = api.post(f"{ITEMS}/{parent.pk}/{action}", body, format="json")

        assert response.status_code == 409, response.content
        assert problem_type(response) == "open-children"
        steps = response.json()["open_children"]
        assert [(s["title"], s["status"]) for s in steps] == [
            ("Write the check", "open"),
            ("Agree the size", "in_progress"),
        ]
        assert ActionItem.objects.filter(status="open").count() == 2

    def test_closing_the_steps_as_done_with_it(self, api, parent):
        response = api.post(
            f"{ITEMS}/{parent.pk}/complete", {"close_children": "done"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert set(ActionItem.objects.values_list("status", flat=True)) == {"done"}

    def test_closing_the_steps_as_wont_do_needs_the_reason(self, api, parent):
        url = f"{ITEMS}/{parent.pk}/complete"
        assert "reason" in errors(api.post(url, {"close_children": "wont_do"}, format="json"))

        response = api.post(
            url, {"close_children": "wont_do", "reason": "Covered by the guard"}, format="json"
        )

        assert response.status_code == 200, response.content
        steps = ActionItem.objects.filter(parent=parent)
        assert set(steps.values_list("status", "closed_reason")) == {
            ("wont_do", "Covered by the guard")
        }

    @pytest.mark.parametrize("value", ["open", "in_progress", "yes", 1])
    def test_close_children_takes_done_or_wont_do_only(self, api, parent, value):
        response = api.post(
            f"{ITEMS}/{parent.pk}/complete", {"close_children": value}, format="json"
        )
        assert "close_children" in errors(response)


class TestSchema:
    def test_it_describes_the_states_and_their_transitions(self):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        paths = schema["paths"]
        for action in ("start", "complete", "wont-do", "reopen"):
            assert "post" in paths[f"/api/v1/action-items/{{id}}/{action}"], action
        components = schema["components"]["schemas"]
        item = components["ActionItemList"]["properties"]
        assert "closed_reason" in item
        status_enum = components[item["status"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
        assert status_enum["enum"] == ["open", "in_progress", "done", "wont_do"]
        wont_do = paths["/api/v1/action-items/{id}/wont-do"]["post"]
        body = wont_do["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert components[body.rsplit("/", 1)[1]]["required"] == ["reason"]
        conflict = wont_do["responses"]["409"]["content"]["application/problem+json"]["schema"]
        assert "open_children" in components[conflict["$ref"].rsplit("/", 1)[1]]["properties"]
