"""Action items are open, in progress, done or won't do (with a reason). Only open and in
progress count as open, overdue or blocking; a parent is never closed over open steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from incidents.action_items import selectors
from incidents.communications.facts import internal_facts
from incidents.insights.selectors import incident_list
from incidents.models import ActionItem
from incidents.postmortem import services
from tests.factories import ActionItemFactory, IncidentFactory, UserFactory, user_with_role

NO_REASON_RECORDED = "No reason was recorded when this was set to won't do."

pytestmark = pytest.mark.django_db

OPEN, STARTED, DONE, WONT_DO = (
    ActionItem.Status.OPEN,
    ActionItem.Status.IN_PROGRESS,
    ActionItem.Status.DONE,
    ActionItem.Status.WONT_DO,
)


def status(item: ActionItem) -> str:
    item.refresh_from_db()
    return item.status


class TestStart:
    def test_start_moves_an_open_item_to_in_progress_and_records_who(self):
        editor = UserFactory()
        item = ActionItemFactory()

        services.action_item_start(item=item, user=editor)

        assert item.status == STARTED
        assert item.history.first().history_user == editor

    @pytest.mark.parametrize("closed", [DONE, WONT_DO])
    def test_start_never_undoes_a_closed_item(self, closed):
        item = ActionItemFactory(status=closed, done_at=timezone.now() if closed == DONE else None)
        recorded = item.history.count()

        services.action_item_start(item=item, user=None)

        assert status(item) == closed
        assert item.history.count() == recorded


class TestWontDo:
    def test_wont_do_keeps_the_reason_on_one_line(self):
        item = ActionItemFactory(status=STARTED)

        services.action_item_drop(item=item, user=None, reason="  Replaced by\nthe new   gate. ")

        assert (item.status, item.closed_reason) == (WONT_DO, "Replaced by the new gate.")
        assert (item.done_at, item.done_by) == (None, None)

    @pytest.mark.parametrize("reason", ["", "   \n "])
    def test_wont_do_needs_a_reason(self, reason):
        item = ActionItemFactory()

        with pytest.raises(ValidationError) as refused:
            services.action_item_drop(item=item, user=None, reason=reason)

        assert "reason" in refused.value.message_dict
        assert status(item) == OPEN

    def test_a_reason_longer_than_the_column_is_refused(self):
        item = ActionItemFactory()
        with pytest.raises(ValidationError):
            services.action_item_drop(item=item, user=None, reason="x" * 501)
        assert status(item) == OPEN

    def test_wont_do_never_undoes_a_done_item(self):
        item = ActionItemFactory(status=DONE, done_at=timezone.now())

        services.action_item_drop(item=item, user=None, reason="Too late")

        assert status(item) == DONE
        assert item.closed_reason == ""

    def test_reopen_takes_the_reason_back_and_the_history_keeps_it(self):
        item = ActionItemFactory()
        services.action_item_drop(item=item, user=None, reason="Not needed")

        services.action_item_reopen(item=item, user=None)

        assert (item.status, item.closed_reason) == (OPEN, "")
        assert item.history.filter(closed_reason="Not needed").exists()

    def test_complete_takes_a_wont_do_to_done_without_its_reason(self):
        item = ActionItemFactory(status=WONT_DO)

        services.action_item_complete(item=item, user=None)

        assert (item.status, item.closed_reason) == (DONE, "")

    def test_the_database_refuses_a_wont_do_without_a_reason_and_a_reason_without_it(self):
        item = ActionItemFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            ActionItem.objects.filter(pk=item.pk).update(status=WONT_DO, closed_reason="")
        with pytest.raises(IntegrityError), transaction.atomic():
            ActionItem.objects.filter(pk=item.pk).update(closed_reason="Why?")


class TestWontDoCountsAsClosed:
    """An item decided against needs nobody's attention: not open, overdue or blocking."""

    def test_an_owners_open_items_and_the_overdue_flag_leave_it_out(self):
        owner = UserFactory()
        today = timezone.localdate()
        late = today - timedelta(days=3)
        kept = ActionItemFactory(owner=owner, due_date=late)
        dropped = ActionItemFactory(owner=owner, due_date=late)
        services.action_item_drop(item=dropped, user=None, reason="Superseded")

        assert list(selectors.action_items_open_for(user=owner, today=today)) == [kept]
        rows = selectors.action_item_list(today=today, statuses=None)
        listed = {i.pk: i.overdue for i in rows}  # type: ignore[attr-defined]  # annotated by the selector
        assert listed == {kept.pk: True, dropped.pk: False}
        overdue = selectors.action_item_list(today=today, overdue=True, statuses=None)
        assert list(overdue) == [kept]

    def test_it_no_longer_blocks_deployments(self):
        item = ActionItemFactory(blocks_deployments=True)
        assert list(selectors.action_items_blocking_deployments()) == [item]

        services.action_item_drop(item=item, user=None, reason="The guard shipped another way")

        assert list(selectors.action_items_blocking_deployments()) == []

    def test_the_incident_list_and_the_messages_count_it_closed(self):
        incident = IncidentFactory()
        ActionItemFactory(incident=incident, status=STARTED)
        dropped = ActionItemFactory(incident=incident)
        services.action_item_drop(item=dropped, user=None, reason="No longer needed")

        row = incident_list().get(pk=incident.pk)
        assert row.open_action_items == 1  # type: ignore[attr-defined]  # annotated by the selector
        assert internal_facts(incident)["open_action_items"] == 1


class TestParentWithOpenSteps:
    @pytest.fixture
    def tree(self):
        """A parent with an open step, a done step, and an open step under the done one."""
        parent = ActionItemFactory(title="Guard the build")
        incident = parent.incident
        first = ActionItemFactory(incident=incident, parent=parent, title="Write the check")
        done = ActionItemFactory(
            incident=incident,
            parent=parent,
            title="Agree the size",
            status=DONE,
            done_at=timezone.now(),
        )
        deep = ActionItemFactory(
            incident=incident, parent=done, title="Tell the team", status=STARTED
        )
        return parent, first, done, deep

    @pytest.mark.parametrize("close", ["complete", "drop"])
    def test_closing_a_parent_is_refused_naming_its_open_steps_at_any_depth(self, tree, close):
        parent, first, _done, deep = tree

        closing = {
            "complete": lambda: services.action_item_complete(item=parent, user=None),
            "drop": lambda: services.action_item_drop(item=parent, user=None, reason="Not now"),
        }[close]

        with pytest.raises(services.OpenSteps) as refused:
            closing()

        assert [step.pk for step in refused.value.steps] == [first.pk, deep.pk]
        assert "Write the check" in str(refused.value)
        assert (status(parent), status(first), status(deep)) == (OPEN, OPEN, STARTED)

    def test_closing_the_steps_as_done_with_it(self, tree):
        parent, first, done, deep = tree
        editor = UserFactory()
        done_at = ActionItem.objects.get(pk=done.pk).done_at

        services.action_item_complete(item=parent, user=editor, close_children=DONE)

        for item in (parent, first, deep):
            item.refresh_from_db()
            assert (item.status, item.done_by) == (DONE, editor)
            assert item.history.first().history_user == editor
        assert ActionItem.objects.get(pk=done.pk).done_at == done_at  # left as it was

    def test_closing_the_steps_as_wont_do_needs_their_reason(self, tree):
        parent, first, _done, deep = tree

        with pytest.raises(ValidationError):
            services.action_item_complete(item=parent, user=None, close_children=WONT_DO)
        assert status(parent) == OPEN

        services.action_item_complete(
            item=parent, user=None, close_children=WONT_DO, reason="Covered by the parent"
        )

        assert status(parent) == DONE
        for step in (first, deep):
            step.refresh_from_db()
            assert (step.status, step.closed_reason) == (WONT_DO, "Covered by the parent")

    def test_a_parent_set_to_wont_do_gives_its_steps_the_same_reason(self, tree):
        parent, first, _done, deep = tree

        services.action_item_drop(
            item=parent, user=None, reason="Moved to the platform team", close_children=WONT_DO
        )

        assert (
            ActionItem.objects.filter(
                pk__in=[parent.pk, first.pk, deep.pk],
                status=WONT_DO,
                closed_reason="Moved to the platform team",
            ).count()
            == 3
        )

    def test_a_parent_whose_steps_are_all_closed_closes_without_asking(self, tree):
        parent, first, _done, deep = tree
        services.action_item_complete(item=first, user=None)
        services.action_item_drop(item=deep, user=None, reason="Everyone knows")

        services.action_item_complete(item=parent, user=None)

        assert status(parent) == DONE

    def test_an_unknown_way_to_close_the_steps_is_refused(self, tree):
        parent = tree[0]
        with pytest.raises(ValidationError):
            services.action_item_complete(item=parent, user=None, close_children="in_progress")


class TestOnTheIncidentPage:
    """The actions section has the same controls, and asks the same question."""

    HTMX = {"HTTP_HX_REQUEST": "true"}

    @pytest.fixture
    def editor_client(self, client):
        client.force_login(user_with_role(Role.EDITOR))
        return client

    def url(self, item: ActionItem) -> str:
        return reverse("incidents:action_item_status", args=[item.incident.reference, item.pk])

    @pytest.mark.parametrize(
        ("start", "data", "end"),
        [
            (OPEN, {"to": "in_progress"}, STARTED),
            (OPEN, {"to": "done"}, DONE),
            (STARTED, {"to": "wont_do", "reason": "Not needed"}, WONT_DO),
            (WONT_DO, {"to": "open"}, OPEN),
        ],
    )
    def test_each_control_moves_the_item_and_returns_the_section(
        self, editor_client, start, data, end
    ):
        item = ActionItemFactory(status=start)
        response = editor_client.post(self.url(item), data, **self.HTMX)
        assert response.status_code == 200
        assert response["HX-Retarget"] == "#section-actions"
        assert status(item) == end

    def test_the_section_shows_the_controls_and_the_reason(self, editor_client):
        incident = IncidentFactory()
        ActionItemFactory(incident=incident, title="Open one")
        ActionItemFactory(incident=incident, status=WONT_DO, closed_reason="Out of scope")
        html = editor_client.get(reverse("incidents:detail", args=[incident.reference]))
        html = html.content.decode()
        assert "Won't do: Out of scope" in html
        assert 'name="to" value="in_progress"' in html
        assert 'name="to" value="open"' in html
        assert 'name="reason"' in html

    def test_a_viewer_sees_no_controls_and_may_not_post(self, client):
        item = ActionItemFactory()
        client.force_login(user_with_role(Role.VIEWER))
        html = client.get(reverse("incidents:detail", args=[item.incident.reference]))
        assert 'name="to"' not in html.content.decode()
        assert client.post(self.url(item), {"to": "done"}).status_code == 403
        assert status(item) == OPEN

    def test_closing_a_parent_asks_about_its_open_steps_in_the_section(self, editor_client):
        parent = ActionItemFactory(title="Guard the build")
        ActionItemFactory(incident=parent.incident, parent=parent, title="Write the check")

        response = editor_client.post(self.url(parent), {"to": "done"}, **self.HTMX)

        assert response.status_code == 409
        assert response["HX-Retarget"] == "#section-actions"
        html = response.content.decode()
        assert "still has 1 open step" in html
        assert "<li>Write the check" in html
        assert status(parent) == OPEN

        response = editor_client.post(
            self.url(parent), {"to": "done", "close_children": "done"}, **self.HTMX
        )
        assert response.status_code == 200
        assert set(ActionItem.objects.values_list("status", flat=True)) == {DONE}

    def test_a_refused_reason_is_said_beside_the_item(self, editor_client):
        item = ActionItemFactory()
        response = editor_client.post(self.url(item), {"to": "wont_do"}, **self.HTMX)
        assert response.status_code == 422
        assert "Say why it won&#x27;t be done." in response.content.decode()
        assert status(item) == OPEN

    def test_an_item_of_another_incident_is_404(self, editor_client):
        item = ActionItemFactory()
        other = IncidentFactory()
        url = reverse("incidents:action_item_status", args=[other.reference, item.pk])
        assert editor_client.post(url, {"to": "done"}).status_code == 404
