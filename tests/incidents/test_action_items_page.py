"""The action items page: filters, order, pages, one-click done and inline assign, by role."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role, roles_ensure
from incidents.models import ActionItem, Horizon
from tests.factories import ActionItemFactory, IncidentFactory, UserFactory
from tests.helpers import search

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PAGE = reverse("incidents:action_items")
HTMX = {"HTTP_HX_REQUEST": "true"}
WRITE_URLS = [
    "incidents:action_item_done",
    "incidents:action_item_undone",
    "incidents:action_item_start",
    "incidents:action_item_wont_do",
    "incidents:action_item_assign",
]


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def make_user():
    groups = roles_ensure()

    def make(role: str, **kwargs):
        user = UserFactory(**kwargs)
        user.groups.add(Group.objects.get(pk=groups[role].pk))
        return user

    return make


@pytest.fixture
def editor(make_user):
    return make_user(Role.EDITOR)


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def titles(response) -> list[str]:
    """The item titles of a rendered page or row, in the order shown."""
    return titles_in(response.content.decode())


def titles_in(html: str) -> list[str]:
    return re.findall(r'<span class="ai-title-text">(.*?)</span>', html)


def cell(html: str, marker: str) -> str:
    """The <td> of a row that holds `marker`, so a test can say what sits beside a field."""
    at = html.index(marker)
    return html[html.rindex("<td", 0, at) : html.index("</td>", at)]


def title_cell(html: str, title: str) -> str:
    return cell(html, f'<span class="ai-title-text">{title}</span>')


def filter_field(html: str, name: str) -> str:
    """One filter of the form: its label, its input and whatever is said about it."""
    start = html.index(f'<label for="id_{name}"')
    return html[start : html.index('<span class="ai-filter', start)]


def write_url(name: str, item: ActionItem) -> str:
    return reverse(name, args=[item.pk])


def assign_data(name: str) -> dict[str, str]:
    if name.endswith("wont_do"):
        return {"reason": "Not worth it"}
    return {"priority": "p1"} if name.endswith("assign") else {}


class TestWhoMayDoWhat:
    def test_anonymous_get_of_the_page_is_sent_to_login(self, client):
        response = client.get(PAGE)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("name", WRITE_URLS)
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_anonymous_request_to_a_control_is_sent_to_login(self, client, name, method):
        item = ActionItemFactory()
        response = getattr(client, method)(write_url(name, item), assign_data(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        item.refresh_from_db()
        assert item.status == ActionItem.Status.OPEN

    def test_anonymous_htmx_post_redirects_the_whole_page_to_login(self, client):
        item = ActionItemFactory()
        response = client.post(write_url("incidents:action_item_done", item), **HTMX)
        assert response.headers["HX-Redirect"].startswith(reverse("login") + "?next=")
        item.refresh_from_db()
        assert item.status == ActionItem.Status.OPEN

    @pytest.mark.parametrize("role", Role.values)
    def test_every_role_may_read_the_page(self, client, make_user, role):
        client.force_login(make_user(role))
        assert client.get(PAGE).status_code == 200

    @pytest.mark.parametrize("name", WRITE_URLS)
    def test_viewer_post_is_forbidden_and_writes_nothing(self, client, make_user, name):
        item = ActionItemFactory(status=ActionItem.Status.DONE, done_at=NOON, priority="p3")
        client.force_login(make_user(Role.VIEWER))
        response = client.post(write_url(name, item), assign_data(name), **HTMX)
        assert response.status_code == 403
        item.refresh_from_db()
        assert (item.status, item.priority) == (ActionItem.Status.DONE, "p3")

    @pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
    @pytest.mark.parametrize("name", WRITE_URLS)
    def test_editor_and_admin_may_use_every_control(self, client, make_user, role, name):
        item = ActionItemFactory()
        client.force_login(make_user(role))
        response = client.post(write_url(name, item), assign_data(name), **HTMX)
        assert response.status_code == 200
        assert response.content.decode().lstrip().startswith(f'<tr id="action-item-{item.pk}"')

    @pytest.mark.parametrize("name", WRITE_URLS)
    def test_controls_answer_get_with_405(self, editor_client, name):
        assert editor_client.get(write_url(name, ActionItemFactory())).status_code == 405

    def test_viewer_sees_no_controls(self, client, make_user):
        ActionItemFactory(title="Read only", owner=UserFactory(username="olga"))
        client.force_login(make_user(Role.VIEWER))
        html = client.get(PAGE).content.decode()
        assert "Read only" in html
        assert "olga" in html
        for control in (
            "hx-post",
            'id="tick-',
            'name="owner"',
            'name="due_date"',
            'name="priority"',
        ):
            assert control not in html

    def test_editor_sees_a_real_button_and_inline_fields_per_row(self, editor_client):
        item = ActionItemFactory()
        html = editor_client.get(PAGE).content.decode()
        done_url = write_url("incidents:action_item_done", item)
        assert f'<form method="post" action="{done_url}" hx-post="{done_url}"' in html
        assert f'<button type="submit" id="tick-{item.pk}"' in html
        for field in ("owner", "due", "priority"):
            assert f'id="{field}-{item.pk}"' in html


class TestFilters:
    def test_default_shows_open_and_in_progress_only(self, editor_client):
        for status in ActionItem.Status.values:
            ActionItemFactory(
                title=status, status=status, done_at=NOON if status == "done" else None
            )
        assert sorted(titles(editor_client.get(PAGE))) == ["in_progress", "open"]

    @pytest.mark.parametrize(
        ("value", "shown"),
        [
            ("done", ["done"]),
            ("wont_do", ["wont_do"]),
            ("all", ["done", "in_progress", "open", "wont_do"]),
        ],
    )
    def test_status_filter_shows_done_or_everything(self, editor_client, value, shown):
        for status in ActionItem.Status.values:
            ActionItemFactory(
                title=status, status=status, done_at=NOON if status == "done" else None
            )
        assert sorted(titles(editor_client.get(PAGE, {"status": value}))) == shown

    def test_mine_shows_only_items_i_own(self, editor_client, editor):
        ActionItemFactory(title="Mine", owner=editor)
        ActionItemFactory(title="Theirs", owner=UserFactory())
        ActionItemFactory(title="Nobody's")
        assert titles(editor_client.get(PAGE, {"mine": "on"})) == ["Mine"]

    def test_overdue_is_open_and_due_before_today(self, editor_client):
        ActionItemFactory(title="Late", due_date=TODAY - timedelta(days=1))
        ActionItemFactory(
            title="Late but in progress",
            due_date=TODAY - timedelta(days=3),
            status=ActionItem.Status.IN_PROGRESS,
        )
        ActionItemFactory(title="Due today", due_date=TODAY)
        ActionItemFactory(title="Undated")
        ActionItemFactory(
            title="Late and done",
            due_date=TODAY - timedelta(days=1),
            status=ActionItem.Status.DONE,
            done_at=NOON,
        )
        shown = titles(editor_client.get(PAGE, {"overdue": "on", "status": "all"}))
        assert shown == ["Late but in progress", "Late"]

    def test_due_this_week_is_today_and_the_six_days_after(self, editor_client):
        for offset in (-1, 0, 6, 7):
            ActionItemFactory(title=f"day {offset}", due_date=TODAY + timedelta(days=offset))
        ActionItemFactory(title="Undated")
        assert titles(editor_client.get(PAGE, {"due_this_week": "on"})) == ["day 0", "day 6"]

    def test_horizon_filter(self, editor_client):
        ActionItemFactory(title="Now", horizon=Horizon.IMMEDIATE)
        ActionItemFactory(title="Later", horizon=Horizon.LONG_TERM)
        assert titles(editor_client.get(PAGE, {"horizon": "long_term"})) == ["Later"]

    @pytest.mark.parametrize("spelling", ["INC-1042", "inc-1042", "1042", " INC-1042 "])
    def test_incident_filter_takes_the_reference_however_spelled(self, editor_client, spelling):
        ActionItemFactory(title="Ours", incident=IncidentFactory(number=1042))
        ActionItemFactory(title="Another incident's", incident=IncidentFactory(number=1043))
        assert titles(editor_client.get(PAGE, {"incident": spelling})) == ["Ours"]

    def test_blocking_filter_shows_open_items_that_block_deployments(self, editor_client):
        ActionItemFactory(title="Blocks", blocks_deployments=True)
        ActionItemFactory(title="Does not block")
        ActionItemFactory(
            title="Blocked once",
            blocks_deployments=True,
            status=ActionItem.Status.DONE,
            done_at=NOON,
        )
        assert titles(editor_client.get(PAGE, {"blocking": "on", "status": "all"})) == ["Blocks"]

    def test_blocking_tag_shows_only_while_the_item_is_open(self, editor_client):
        ActionItemFactory(title="Open blocker", blocks_deployments=True)
        ActionItemFactory(
            title="Done blocker",
            blocks_deployments=True,
            status=ActionItem.Status.DONE,
            done_at=NOON,
        )
        html = editor_client.get(PAGE, {"status": "all"}).content.decode()
        assert "blocks deployments" in title_cell(html, "Open blocker")
        assert "blocks deployments" not in title_cell(html, "Done blocker")

    def test_filters_combine(self, editor_client, editor):
        late = TODAY - timedelta(days=2)
        ActionItemFactory(title="Mine and late", owner=editor, due_date=late)
        ActionItemFactory(title="Mine, on time", owner=editor, due_date=TODAY)
        ActionItemFactory(title="Late, someone else's", owner=UserFactory(), due_date=late)
        shown = titles(editor_client.get(PAGE, {"mine": "on", "overdue": "on"}))
        assert shown == ["Mine and late"]

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("horizon", "someday", "Select a valid choice."),
            ("status", "finished", "Select a valid choice."),
            ("incident", "the big one", "Enter an incident reference such as INC-7."),
        ],
    )
    def test_invalid_filter_shows_an_error_beside_its_field_and_the_rest_still_apply(
        self, editor_client, editor, field, value, message
    ):
        ActionItemFactory(title="Mine", owner=editor)
        ActionItemFactory(title="Theirs")
        response = editor_client.get(PAGE, {field: value, "mine": "on"})
        assert response.status_code == 200
        html = response.content.decode()
        beside = filter_field(html, field)
        assert f'aria-describedby="id_{field}_error"' in beside
        assert f'<span class="error" id="id_{field}_error">{message}' in beside
        assert titles(response) == ["Mine"]

    def test_unknown_incident_reference_shows_an_empty_list(self, editor_client):
        ActionItemFactory()
        response = editor_client.get(PAGE, {"incident": "INC-999999"})
        assert titles(response) == []
        assert "No action items match these filters." in response.content.decode()


class TestOrder:
    def test_overdue_first_then_by_due_date_undated_last_then_priority(self, editor_client):
        day = timedelta(days=1)
        ActionItemFactory(title="undated p1", priority="p1")
        ActionItemFactory(title="tomorrow p2", due_date=TODAY + day, priority="p2")
        ActionItemFactory(title="tomorrow p1", due_date=TODAY + day, priority="p1")
        ActionItemFactory(title="yesterday", due_date=TODAY - day, priority="p3")
        ActionItemFactory(title="last week", due_date=TODAY - 7 * day, priority="p3")
        ActionItemFactory(title="today", due_date=TODAY, priority="p3")
        ActionItemFactory(title="undated p3", priority="p3")
        assert titles(editor_client.get(PAGE)) == [
            "last week",
            "yesterday",
            "today",
            "tomorrow p1",
            "tomorrow p2",
            "undated p1",
            "undated p3",
        ]

    def test_a_done_item_past_its_date_is_not_counted_overdue(self, editor_client):
        ActionItemFactory(title="open, later", due_date=TODAY + timedelta(days=3))
        ActionItemFactory(
            title="done, long ago",
            due_date=TODAY - timedelta(days=30),
            status=ActionItem.Status.DONE,
            done_at=NOON,
        )
        ActionItemFactory(title="open, late", due_date=TODAY - timedelta(days=1))
        html = editor_client.get(PAGE, {"status": "all"}).content.decode()
        assert titles_in(html) == ["open, late", "done, long ago", "open, later"]
        assert "overdue" in title_cell(html, "open, late")
        assert "overdue" not in title_cell(html, "done, long ago")

    def test_sub_items_are_listed_with_their_parent_named(self, editor_client):
        parent = ActionItemFactory(title="Guard the build")
        ActionItemFactory(incident=parent.incident, parent=parent, title="Add the check")
        html = editor_client.get(PAGE).content.decode()
        assert "step of Guard the build" in title_cell(html, "Add the check")


class TestPages:
    def test_fifty_a_page_and_the_links_keep_the_filters(self, editor_client, editor):
        ActionItemFactory.create_batch(51, owner=editor)
        ActionItemFactory(title="Not mine")
        first = editor_client.get(PAGE, {"mine": "on", "horizon": "this_week"})
        assert len(titles(first)) == 50
        html = first.content.decode()
        assert 'href="?mine=on&amp;horizon=this_week&amp;page=2"' in html
        second = editor_client.get(PAGE, {"mine": "on", "horizon": "this_week", "page": 2})
        assert len(titles(second)) == 1
        assert 'href="?mine=on&amp;horizon=this_week&amp;page=1"' in second.content.decode()

    @pytest.mark.parametrize("page", ["abc", "-1", "9999"])
    def test_a_bad_page_number_shows_a_page_not_an_error(self, editor_client, page):
        ActionItemFactory(title="Only")
        response = editor_client.get(PAGE, {"page": page})
        assert response.status_code == 200
        assert titles(response) == ["Only"]


class TestDoneAndUndone:
    def test_htmx_done_returns_just_the_row_and_writes_it(self, editor_client, editor):
        item = ActionItemFactory(title="Ship the guard")
        response = editor_client.post(write_url("incidents:action_item_done", item), **HTMX)
        assert response.status_code == 200
        assert response.templates[0].name == "incidents/partials/_action_item_row.html"
        html = response.content.decode()
        assert html.lstrip().startswith(f'<tr id="action-item-{item.pk}"')
        assert "<html" not in html
        assert 'aria-pressed="true"' in html
        assert write_url("incidents:action_item_undone", item) in html
        item.refresh_from_db()
        assert item.status == ActionItem.Status.DONE
        assert item.done_at == NOON
        assert item.done_by == editor

    def test_done_twice_is_harmless(self, editor_client):
        item = ActionItemFactory()
        url = write_url("incidents:action_item_done", item)
        editor_client.post(url, **HTMX)
        with time_machine.travel(NOON + timedelta(hours=1), tick=False):
            response = editor_client.post(url, **HTMX)
        assert response.status_code == 200
        item.refresh_from_db()
        assert item.status == ActionItem.Status.DONE
        assert item.done_at == NOON

    def test_undone_reopens_and_clears_done_at(self, editor_client, editor):
        item = ActionItemFactory(status=ActionItem.Status.DONE, done_at=NOON, done_by=editor)
        response = editor_client.post(write_url("incidents:action_item_undone", item), **HTMX)
        assert response.status_code == 200
        assert 'aria-pressed="false"' in response.content.decode()
        item.refresh_from_db()
        assert item.status == ActionItem.Status.OPEN
        assert item.done_at is None
        assert item.done_by is None

    def test_undone_of_an_open_item_changes_nothing(self, editor_client):
        item = ActionItemFactory(status=ActionItem.Status.IN_PROGRESS)
        response = editor_client.post(write_url("incidents:action_item_undone", item), **HTMX)
        assert response.status_code == 200
        item.refresh_from_db()
        assert item.status == ActionItem.Status.IN_PROGRESS

    def test_plain_post_redirects_back_to_the_filtered_page(self, editor_client):
        item = ActionItemFactory()
        back = f"{PAGE}?mine=on&page=2"
        response = editor_client.post(write_url("incidents:action_item_done", item), {"next": back})
        assert response.status_code == 302
        assert response.url == back
        item.refresh_from_db()
        assert item.status == ActionItem.Status.DONE

    @pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", ""])
    def test_plain_post_never_redirects_off_site(self, editor_client, next_url):
        item = ActionItemFactory()
        response = editor_client.post(
            write_url("incidents:action_item_done", item), {"next": next_url}
        )
        assert response.status_code == 302
        assert response.url == PAGE

    def test_the_row_keeps_the_page_to_come_back_to(self, editor_client):
        item = ActionItemFactory()
        back = f"{PAGE}?overdue=on"
        response = editor_client.post(
            write_url("incidents:action_item_done", item), {"next": back}, **HTMX
        )
        assert f'name="next" value="{PAGE}?overdue=on"' in response.content.decode()

    def test_unknown_item_is_404(self, editor_client):
        assert (
            editor_client.post(reverse("incidents:action_item_done", args=[999999])).status_code
            == 404
        )


class TestStartAndWontDo:
    def test_start_puts_the_item_in_progress_and_returns_its_row(self, editor_client):
        item = ActionItemFactory()
        response = editor_client.post(write_url("incidents:action_item_start", item), **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert '<span class="ai-status in_progress">In progress</span>' in html
        assert f'id="start-{item.pk}"' not in html  # started already
        item.refresh_from_db()
        assert item.status == ActionItem.Status.IN_PROGRESS

    def test_an_open_row_offers_start_and_wont_do_with_a_reason(self, editor_client):
        item = ActionItemFactory()
        html = editor_client.get(PAGE).content.decode()
        assert f'id="start-{item.pk}"' in html
        wont_do = write_url("incidents:action_item_wont_do", item)
        form = html[html.index(f'action="{wont_do}"') : html.index("</form>", html.index(wont_do))]
        assert f'id="reason-{item.pk}" name="reason"' in form
        assert "required" in form

    def test_wont_do_keeps_the_reason_shows_it_and_offers_reopen(self, editor_client, editor):
        item = ActionItemFactory(title="Rewrite the deployer")
        response = editor_client.post(
            write_url("incidents:action_item_wont_do", item),
            {"reason": "The new platform replaces it"},
            **HTMX,
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Won't do: The new platform replaces it" in html
        assert write_url("incidents:action_item_undone", item) in html
        assert f'id="start-{item.pk}"' not in html
        item.refresh_from_db()
        assert (item.status, item.closed_reason) == (
            ActionItem.Status.WONT_DO,
            "The new platform replaces it",
        )
        assert item.history.first().history_user == editor

    def test_wont_do_without_a_reason_is_refused_beside_the_row(self, editor_client):
        item = ActionItemFactory()
        response = editor_client.post(
            write_url("incidents:action_item_wont_do", item), {"reason": " "}, **HTMX
        )
        assert response.status_code == 422
        assert "Say why it won&#x27;t be done." in response.content.decode()
        item.refresh_from_db()
        assert item.status == ActionItem.Status.OPEN

    def test_plain_post_without_a_reason_says_why_and_writes_nothing(self, editor_client):
        item = ActionItemFactory(title="Add alerts")
        response = editor_client.post(write_url("incidents:action_item_wont_do", item), follow=True)
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            "Add alerts: Say why it won't be done."
        ]
        item.refresh_from_db()
        assert item.status == ActionItem.Status.OPEN

    def test_ticking_a_wont_do_box_reopens_it(self, editor_client):
        item = ActionItemFactory(status=ActionItem.Status.WONT_DO)
        html = editor_client.get(f"{PAGE}?status=wont_do").content.decode()
        undone = write_url("incidents:action_item_undone", item)
        assert f'<form method="post" action="{undone}"' in html
        editor_client.post(undone, **HTMX)
        item.refresh_from_db()
        assert (item.status, item.closed_reason) == (ActionItem.Status.OPEN, "")

    def test_viewer_sees_the_reason_but_no_controls(self, client, make_user):
        ActionItemFactory(status=ActionItem.Status.WONT_DO, closed_reason="Out of scope")
        ActionItemFactory(title="Still open")
        client.force_login(make_user(Role.VIEWER))
        html = client.get(f"{PAGE}?status=all").content.decode()
        assert "Won't do: Out of scope" in html
        assert 'id="start-' not in html
        assert 'name="reason"' not in html


class TestParentWithOpenSteps:
    @pytest.fixture
    def parent(self):
        parent = ActionItemFactory(title="Guard the build")
        ActionItemFactory(incident=parent.incident, parent=parent, title="Write the check")
        ActionItemFactory(
            incident=parent.incident, parent=parent, title="Agree the size", status="done",
            done_at=NOON,
        )  # fmt: skip
        return parent

    def test_ticking_it_asks_first_naming_the_open_steps(self, editor_client, parent):
        response = editor_client.post(write_url("incidents:action_item_done", parent), **HTMX)

        assert response.status_code == 409
        html = response.content.decode()
        assert html.lstrip().startswith(f'<tr id="action-item-{parent.pk}"')
        assert "still has 1 open step" in html
        assert "<li>Write the check" in html
        assert "Agree the size" not in html  # done already
        assert 'name="close_children" value="done"' in html
        assert 'name="close_children" value="wont_do"' in html
        parent.refresh_from_db()
        assert parent.status == ActionItem.Status.OPEN

    def test_closing_the_steps_as_done_closes_them_with_it(self, editor_client, parent):
        response = editor_client.post(
            write_url("incidents:action_item_done", parent), {"close_children": "done"}, **HTMX
        )
        assert response.status_code == 200
        assert set(ActionItem.objects.values_list("status", flat=True)) == {"done"}
        # The steps' rows come along, swapped wherever the page shows them.
        html = response.content.decode()
        assert html.lstrip().startswith(f'<tr id="action-item-{parent.pk}" class=')
        for step in ActionItem.objects.filter(parent=parent):
            assert f'<tr id="action-item-{step.pk}" hx-swap-oob="true"' in html

    def test_closing_the_steps_as_wont_do_takes_the_reason(self, editor_client, parent):
        editor_client.post(
            write_url("incidents:action_item_done", parent),
            {"close_children": "wont_do", "reason": "The guard covers it"},
            **HTMX,
        )
        step = ActionItem.objects.get(title="Write the check")
        assert (step.status, step.closed_reason) == ("wont_do", "The guard covers it")
        assert ActionItem.objects.get(pk=parent.pk).status == "done"

    def test_without_javascript_the_question_is_a_page_of_its_own(self, editor_client, parent):
        back = f"{PAGE}?mine=on"
        response = editor_client.post(
            write_url("incidents:action_item_wont_do", parent),
            {"reason": "Moved to the platform team", "next": back},
        )
        assert response.status_code == 409
        html = response.content.decode()
        assert "<html" in html
        assert "Setting it to won't do closes it too" in html
        assert 'name="reason" value="Moved to the platform team"' in html
        assert f'name="next" value="{back}"' in html


class TestAssign:
    def test_valid_values_are_saved_and_the_row_comes_back(self, editor_client):
        owner = UserFactory(username="dana")
        item = ActionItemFactory(priority="p3")
        response = editor_client.post(
            write_url("incidents:action_item_assign", item),
            {"owner": "dana", "due_date": "2026-03-20", "priority": "p1"},
            **HTMX,
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="owner" value="dana"' in html
        assert 'value="2026-03-20"' in html
        item.refresh_from_db()
        assert (item.owner, item.due_date, item.priority) == (owner, date(2026, 3, 20), "p1")

    def test_one_control_changes_only_its_own_field(self, editor_client):
        owner = UserFactory()
        item = ActionItemFactory(owner=owner, due_date=TODAY, priority="p3")
        editor_client.post(
            write_url("incidents:action_item_assign", item), {"priority": "p1"}, **HTMX
        )
        item.refresh_from_db()
        assert (item.owner, item.due_date, item.priority) == (owner, TODAY, "p1")

    def test_owner_and_due_date_can_be_cleared(self, editor_client):
        item = ActionItemFactory(owner=UserFactory(), due_date=TODAY)
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"owner": "", "due_date": ""}, **HTMX
        )
        assert response.status_code == 200
        item.refresh_from_db()
        assert (item.owner, item.due_date) == (None, None)

    @pytest.mark.parametrize("typed", ["2026-02-30", "soon", "03/20/2026"])
    def test_a_bad_due_date_is_refused_beside_the_field_keeping_what_was_typed(
        self, editor_client, typed
    ):
        item = ActionItemFactory(due_date=TODAY, priority="p3")
        response = editor_client.post(
            write_url("incidents:action_item_assign", item),
            {"due_date": typed, "priority": "p1"},
            **HTMX,
        )
        assert response.status_code == 422
        html = response.content.decode()
        due = cell(html, f'id="due-{item.pk}"')
        assert f'value="{typed}"' in due
        assert "Enter a real date as YYYY-MM-DD." in due
        assert f'aria-describedby="due-{item.pk}-error"' in due
        item.refresh_from_db()
        assert (item.due_date, item.priority) == (TODAY, "p3")

    def test_a_bad_priority_is_refused_beside_its_field(self, editor_client):
        item = ActionItemFactory(priority="p3")
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"priority": "p9"}, **HTMX
        )
        assert response.status_code == 422
        assert "Select a valid choice." in cell(
            response.content.decode(), f'id="priority-{item.pk}"'
        )
        item.refresh_from_db()
        assert item.priority == "p3"

    def test_an_unknown_username_is_refused_beside_the_field_keeping_what_was_typed(
        self, editor_client
    ):
        item = ActionItemFactory()
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"owner": "nobody-here"}, **HTMX
        )
        assert response.status_code == 422
        owner = cell(response.content.decode(), f'id="owner-{item.pk}"')
        assert 'value="nobody-here"' in owner
        assert "No active user has the username “nobody-here”." in owner
        assert f'aria-describedby="owner-{item.pk}-error"' in owner
        item.refresh_from_db()
        assert item.owner is None

    def test_a_username_in_another_case_names_its_user(self, editor_client):
        dana = UserFactory(username="dana")
        item = ActionItemFactory()
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"owner": " Dana "}, **HTMX
        )
        assert response.status_code == 200
        item.refresh_from_db()
        assert item.owner == dana

    def test_an_inactive_user_cannot_be_given_an_item(self, editor_client):
        gone = UserFactory(is_active=False)
        item = ActionItemFactory()
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"owner": gone.username}, **HTMX
        )
        assert response.status_code == 422
        item.refresh_from_db()
        assert item.owner is None

    def test_an_inactive_owner_still_shows_as_the_owner(self, editor_client):
        gone = UserFactory(username="left", is_active=False)
        item = ActionItemFactory(owner=gone)
        html = editor_client.get(PAGE).content.decode()
        owner = cell(html, f'id="owner-{item.pk}"')
        assert 'name="owner" value="left"' in owner
        assert "(inactive)" in owner

    def test_a_post_with_nothing_to_change_is_refused(self, editor_client):
        item = ActionItemFactory()
        response = editor_client.post(write_url("incidents:action_item_assign", item), {}, **HTMX)
        assert response.status_code == 422
        assert "Nothing to change." in response.content.decode()

    def test_plain_post_saves_and_redirects_back(self, editor_client):
        item = ActionItemFactory(priority="p3")
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"priority": "p1", "next": PAGE}
        )
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.priority == "p1"

    def test_plain_post_with_a_bad_value_says_why_beside_the_field_and_writes_nothing(
        self, editor_client
    ):
        item = ActionItemFactory(title="Guard", due_date=TODAY)
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"due_date": "soon", "next": PAGE}
        )
        assert response.status_code == 422
        html = response.content.decode()
        due = cell(html, f'id="due-{item.pk}"')
        assert 'value="soon"' in due
        assert "Enter a real date as YYYY-MM-DD." in due
        assert f'<a href="{PAGE}">Back to the action items</a>' in html
        item.refresh_from_db()
        assert item.due_date == TODAY

    def test_plain_post_of_an_unknown_username_says_why_beside_the_field(self, editor_client):
        item = ActionItemFactory(title="Guard")
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"owner": "nobody-here", "next": PAGE}
        )
        assert response.status_code == 422
        owner = cell(response.content.decode(), f'id="owner-{item.pk}"')
        assert 'value="nobody-here"' in owner
        assert "No active user has the username “nobody-here”." in owner
        assert [str(m) for m in get_messages(response.wsgi_request)] == []
        item.refresh_from_db()
        assert item.owner is None

    def test_plain_post_of_a_username_saves_and_redirects_back(self, editor_client):
        dana = UserFactory(username="dana")
        item = ActionItemFactory()
        response = editor_client.post(
            write_url("incidents:action_item_assign", item), {"owner": "dana", "next": PAGE}
        )
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.owner == dana

    def test_htmx_on_the_page_swaps_a_refused_row_in(self, editor_client):
        # htmx reads the first htmx-config meta and applies the first rule whose code matches.
        html = editor_client.get(PAGE).content.decode()
        config = json.loads(search(r'<meta name="htmx-config" content=\'(.*?)\'>', html)[1])
        rule = next(r for r in config["responseHandling"] if re.search(r["code"], "422"))
        assert rule["swap"] is True
        assert rule.get("error") is False


class TestQueryBudget:
    # Session, user, the user's own and their groups' permissions, the count, the page of rows.
    # No list of people for an editor: owner boxes ask for suggestions as someone types.

    def fill(self, total: int) -> None:
        owners = UserFactory.create_batch(3)
        while ActionItem.objects.count() < total:
            n = ActionItem.objects.count()
            parent = ActionItemFactory(
                owner=owners[n % 3], due_date=TODAY + timedelta(days=n % 9 - 4)
            )
            if ActionItem.objects.count() < total:
                ActionItemFactory(incident=parent.incident, parent=parent, blocks_deployments=True)

    @pytest.mark.parametrize(("role", "budget"), [(Role.EDITOR, 6), (Role.VIEWER, 6)])
    def test_the_page_costs_the_same_queries_for_one_row_and_fifty(
        self, client, make_user, role, budget
    ):
        client.force_login(make_user(role))
        counts = []
        for total in (1, 50):
            self.fill(total)
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(PAGE)
            assert len(titles(response)) == total
            counts.append(len(ctx.captured_queries))
        assert counts == [budget, budget], [q["sql"] for q in ctx.captured_queries]

    def test_a_tick_costs_the_same_whatever_the_number_of_rows(self, editor_client):
        counts = []
        for total in (1, 50):
            self.fill(total)
            item = ActionItem.objects.order_by("-pk").first()
            assert item is not None
            with CaptureQueriesContext(connection) as ctx:
                editor_client.post(write_url("incidents:action_item_done", item), **HTMX)
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1], counts
