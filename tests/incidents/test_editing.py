"""Writing the post-mortem in place: prose with compare-and-set, section rows, transitions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services
from incidents.postmortem.forms import VersionedForm
from incidents.postmortem.sections import DETAIL_FIELDS
from incidents.postmortem.services import comparable_values
from tests.factories import T0, CauseFactory, IncidentFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def incident():
    return services.incident_create(
        service=ServiceFactory(), title="Checkout down", started_at=T0, summary="First words."
    )


@pytest.fixture
def editor_client(client):
    client.force_login(user_with_role("editor"))
    return client


def prose_post(incident, field, value, *, version=None, base_from=None):
    base_from = base_from or incident
    return {
        "value": value,
        "version": version or base_from.version,
        "base": VersionedForm.sign_base(comparable_values(base_from, [field])),
    }


def prose_url(incident, field="summary"):
    return reverse("incidents:prose_edit", args=[incident.reference, field])


def opened_with(client, url) -> dict[str, str]:
    """The hidden version and base of the form at `url`: what an editor who opened it sends."""
    html = client.get(url, **HTMX).content.decode()
    return dict(re.findall(r'<input type="hidden" name="(version|base)" value="([^"]*)"', html))


class TestProse:
    def test_htmx_get_returns_just_the_form_with_the_current_text(self, editor_client, incident):
        response = editor_client.get(prose_url(incident), **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert "First words." in html
        assert 'name="version"' in html

    def test_saving_renders_the_field_and_bumps_the_version(self, editor_client, incident):
        response = editor_client.post(
            prose_url(incident), prose_post(incident, "summary", "Now **bold**."), **HTMX
        )
        assert response.status_code == 200
        assert "<strong>bold</strong>" in response.content.decode()
        assert response["HX-Retarget"] == "#prose-summary"
        incident.refresh_from_db()
        assert incident.summary == "Now **bold**."
        assert incident.version == 2

    def test_plain_post_redirects_to_the_field_on_the_page(self, editor_client, incident):
        response = editor_client.post(prose_url(incident), prose_post(incident, "summary", "x"))
        assert response.status_code == 302
        assert response.url.endswith(f"/incidents/{incident.reference}/#prose-summary")

    def test_same_text_changed_meanwhile_is_a_conflict_that_keeps_both(
        self, editor_client, incident
    ):
        stale = prose_post(incident, "summary", "My careful rewrite.")
        services.incident_update(
            incident=incident, expected_version=1, summary="Their *quick* fix."
        )
        response = editor_client.post(prose_url(incident), stale, **HTMX)
        html = response.content.decode()
        assert response.status_code == 409
        assert "My careful rewrite." in html  # ours, kept in the box
        assert "Their <em>quick</em> fix." in html  # theirs, shown beside it
        incident.refresh_from_db()
        assert incident.summary == "Their *quick* fix."
        # The conflict form now carries the new version: saving again is a deliberate overwrite.
        assert f'name="version" value="{incident.version}"' in html

    def test_other_field_changed_meanwhile_saves_on_top(self, editor_client, incident):
        stale = prose_post(incident, "summary", "Summary from a long edit.")
        services.incident_update(incident=incident, expected_version=1, impact="Users saw 404s.")
        response = editor_client.post(prose_url(incident), stale, **HTMX)
        assert response.status_code == 200
        incident.refresh_from_db()
        assert incident.summary == "Summary from a long edit."
        assert incident.impact == "Users saw 404s."
        assert incident.version == 3

    def test_ticking_an_item_never_conflicts_with_prose(self, editor_client, incident):
        item = ActionItem.objects.create(incident=incident, title="Fix it")
        stale = prose_post(incident, "summary", "Edited while someone ticked.")
        services.action_item_complete(item=item, user=None)
        response = editor_client.post(prose_url(incident), stale, **HTMX)
        assert response.status_code == 200
        incident.refresh_from_db()
        assert incident.version == 2

    def test_oversized_text_is_refused_beside_the_field_and_kept(self, editor_client, incident):
        huge = "a" * (settings.HINDSIGHT_MARKDOWN_MAX_LENGTH + 1)
        response = editor_client.post(
            prose_url(incident), prose_post(incident, "summary", huge), **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 422
        assert 'class="error"' in html
        assert huge in html
        incident.refresh_from_db()
        assert incident.summary == "First words."

    def test_script_and_javascript_links_render_inert(self, editor_client, incident):
        payload = (
            '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)">'
        )
        editor_client.post(prose_url(incident), prose_post(incident, "summary", payload), **HTMX)
        page = editor_client.get(reverse("incidents:detail", args=[incident.reference]))
        html = page.content.decode()
        assert "<script>alert" not in html
        assert "javascript:alert" not in html
        assert "onerror" not in html

    def test_tampered_base_is_refused(self, editor_client, incident):
        data = prose_post(incident, "summary", "x")
        data["base"] = data["base"][:-2] + "xx"
        response = editor_client.post(prose_url(incident), data, **HTMX)
        assert response.status_code == 422

    def test_unknown_field_is_404(self, editor_client, incident):
        assert editor_client.get(prose_url(incident, "title_html")).status_code == 404


class TestDetails:
    def url(self, incident):
        return reverse("incidents:details_edit", args=[incident.reference])

    def data(self, incident, **overrides):
        values = {
            "title": incident.title,
            "severity": incident.severity,
            "status_line": "",
            "started_at": "2026-01-02T06:02",
            "detected_at": "",
            "mitigated_at": "",
            "resolved_at": "",
            "version": incident.version,
            "base": VersionedForm.sign_base(
                comparable_values(incident, ["title", "severity", "status_line", "started_at"])
            ),
        }
        return {**values, **overrides}

    def test_resolved_before_started_is_an_error_beside_the_field(self, editor_client, incident):
        response = editor_client.post(
            self.url(incident), self.data(incident, resolved_at="2026-01-02T05:00"), **HTMX
        )
        html = response.content.decode()
        assert response.status_code == 422
        assert 'id="id_resolved_at_error"' in html
        assert 'value="2026-01-02T05:00"' in html
        incident.refresh_from_db()
        assert incident.resolved_at is None

    @pytest.mark.parametrize(
        ("field", "value"),
        [("title", ""), ("title", "t" * 201), ("started_at", "yesterday-ish")],
    )
    def test_bad_values_are_refused_beside_their_field(self, editor_client, incident, field, value):
        response = editor_client.post(self.url(incident), self.data(incident, **{field: value}))
        html = response.content.decode()
        assert response.status_code == 422
        assert f'id="id_{field}_error"' in html
        incident.refresh_from_db()
        assert incident.title == "Checkout down"

    def _all_fields(self, incident, **overrides):
        started = incident.started_at.strftime("%Y-%m-%dT%H:%M")
        return {
            **self.data(incident, started_at=started),
            "base": VersionedForm.sign_base(comparable_values(incident, DETAIL_FIELDS)),
            **overrides,
        }

    def test_a_field_only_the_other_person_changed_keeps_their_value(self, editor_client, incident):
        """The trial: A changes the severity; B, who changed only the status line, saves."""
        opened_by_b = self._all_fields(incident, status_line="Rolling back")
        services.incident_update(incident=incident, expected_version=1, severity="sev1")

        response = editor_client.post(self.url(incident), opened_by_b)

        assert response.status_code == 302
        incident.refresh_from_db()
        assert (incident.severity, incident.status_line) == ("sev1", "Rolling back")

    def test_a_conflict_names_only_the_fields_both_changed_by_label_as_the_page_shows(
        self, editor_client, incident
    ):
        opened_by_b = self._all_fields(incident, severity="sev2", status_line="Rolling back")
        services.incident_update(
            incident=incident, expected_version=1, severity="sev1", title="Checkout 500s"
        )

        response = editor_client.post(self.url(incident), opened_by_b, **HTMX)

        html = response.content.decode()
        assert response.status_code == 409
        theirs = html.split('<ul class="theirs">', 1)[1].split("</ul>", 1)[0]
        assert theirs == "<li><strong>Severity</strong>: SEV1 · Critical</li>"
        # What B typed stays, what A changed elsewhere is in the form: a second save keeps A's
        # title and puts B's severity on top, on purpose.
        again = {f.name: f.value() for f in response.context["form"] if f.name in DETAIL_FIELDS}
        assert (again["title"], again["severity"], again["status_line"]) == (
            "Checkout 500s",
            "sev2",
            "Rolling back",
        )
        incident.refresh_from_db()
        assert (incident.severity, incident.status_line) == ("sev1", "")

    def test_saving_the_conflict_form_again_keeps_the_other_persons_other_fields(
        self, editor_client, incident
    ):
        opened_by_b = self._all_fields(incident, severity="sev2")
        services.incident_update(
            incident=incident, expected_version=1, severity="sev1", title="Checkout 500s"
        )
        conflict = editor_client.post(self.url(incident), opened_by_b)
        form = conflict.context["form"]
        data = {f.html_name: f.value() or "" for f in form}
        data["started_at"] = incident.started_at.strftime("%Y-%m-%dT%H:%M")

        assert editor_client.post(self.url(incident), data).status_code == 302

        incident.refresh_from_db()
        assert (incident.title, incident.severity) == ("Checkout 500s", "sev2")

    def test_saving_details_updates_the_summary_box(self, editor_client, incident):
        response = editor_client.post(
            self.url(incident),
            self.data(incident, title="Checkout returned 500s", severity="sev1"),
            **HTMX,
        )
        assert response.status_code == 200
        assert "Checkout returned 500s" in response.content.decode()
        incident.refresh_from_db()
        assert incident.severity == "sev1"


ROW_DATA = {
    "timeline": {"occurred_at": "2026-01-02T06:05", "kind": "detected", "text": "Pager *fired*."},
    "status": {"kind": "working", "label": "Database", "detail": "Healthy."},
    "causes": {"kind": "contributing", "title": "No artifact check", "detail": "None ran."},
    "lessons": {"kind": "went_right", "text": "Rolled back fast."},
    "actions": {
        "title": "Check `_worker.js` before deploy",
        "horizon": "before_next_deployment",
        "priority": "p1",
        "kind": "prevent",
        "due_date": "2026-01-03",
        "blocks_deployments": "on",
    },
    "criteria": {"group": "before_next_deployment", "text": "Worker is over 100 KB"},
    "priorities": {"title": "Fix the build", "urgent": "on", "detail": "First."},
    "notes": {"kind": "learned", "text": "Verify before deploying."},
}
# Every section's model: each has an incident and a history.
SectionModel = (
    TimelineEvent
    | StatusItem
    | Cause
    | Lesson
    | ActionItem
    | SuccessCriterion
    | PathPriority
    | FinalNote
)
MODELS: dict[str, type[SectionModel]] = {
    "timeline": TimelineEvent,
    "status": StatusItem,
    "causes": Cause,
    "lessons": Lesson,
    "actions": ActionItem,
    "criteria": SuccessCriterion,
    "priorities": PathPriority,
    "notes": FinalNote,
}


class TestSectionRows:
    @pytest.mark.parametrize("key", list(ROW_DATA))
    def test_add_edit_and_delete_a_row_of(self, editor_client, incident, key):
        model = MODELS[key]
        new_url = reverse("incidents:row_new", args=[incident.reference, key])
        assert editor_client.get(new_url, **HTMX).status_code == 200
        response = editor_client.post(new_url, ROW_DATA[key], **HTMX)
        assert response.status_code == 200, response.content.decode()[:1500]
        assert response["HX-Retarget"].startswith("#section-")
        row = model.objects.get(incident=incident)
        assert row.history.count() == 1

        edit_url = reverse("incidents:row_edit", args=[incident.reference, key, row.pk])
        changed = {**ROW_DATA[key], **opened_with(editor_client, edit_url)}
        text_field = next(f for f in ("text", "label", "title") if f in changed)
        changed[text_field] = "Changed words"
        response = editor_client.post(edit_url, changed)
        assert response.status_code == 302
        row.refresh_from_db()
        assert getattr(row, text_field) == "Changed words"

        delete_url = reverse("incidents:row_delete", args=[incident.reference, key, row.pk])
        page = editor_client.get(reverse("incidents:detail", args=[incident.reference]))
        # The delete form sends the version the page showed (a colleague's later edit is kept).
        shown = re.search(
            rf'action="{delete_url}".*?name="version" value="(\d*)"', page.content.decode(), re.S
        )
        assert shown
        assert shown.group(1) == str(row.version)
        response = editor_client.post(delete_url, {"version": shown.group(1)}, **HTMX)
        assert response.status_code == 200
        assert not model.objects.filter(pk=row.pk).exists()

    def test_markdown_of_a_row_is_stored_rendered(self, editor_client, incident):
        editor_client.post(
            reverse("incidents:row_new", args=[incident.reference, "timeline"]),
            ROW_DATA["timeline"],
        )
        assert TimelineEvent.objects.get().text_html == "<p>Pager <em>fired</em>.</p>"

    def test_invalid_row_shows_errors_and_keeps_what_was_typed(self, editor_client, incident):
        response = editor_client.post(
            reverse("incidents:row_new", args=[incident.reference, "actions"]),
            {**ROW_DATA["actions"], "title": "", "due_date": "2026-02-30"},
            **HTMX,
        )
        html = response.content.decode()
        assert response.status_code == 422
        assert 'id="id_title_error"' in html
        assert 'id="id_due_date_error"' in html
        assert 'value="2026-02-30"' in html
        assert not ActionItem.objects.exists()

    def test_options_go_under_a_priority_of_the_same_incident(self, editor_client, incident):
        mine = PathPriority.objects.create(incident=incident, title="Mine")
        other = PathPriority.objects.create(incident=IncidentFactory(), title="Other")
        url = reverse("incidents:row_new", args=[incident.reference, "options"])
        data = {"label": "A", "title": "Try it", "estimate": "2 hours"}
        assert editor_client.post(url, {**data, "priority": other.pk}).status_code == 422
        assert editor_client.post(url, {**data, "priority": mine.pk}).status_code == 302
        assert SolutionOption.objects.get().priority == mine

    def test_a_row_of_another_incident_is_404(self, editor_client, incident):
        foreign = CauseFactory()
        url = reverse("incidents:row_edit", args=[incident.reference, "causes", foreign.pk])
        assert editor_client.get(url).status_code == 404

    def test_deleting_a_row_a_colleague_changed_since_the_page_opened_keeps_it(
        self, editor_client, incident
    ):
        lesson = services.part_save(
            row=Lesson(incident=incident, kind="went_wrong", text="Alerts came late"), user=None
        )
        page = editor_client.get(reverse("incidents:detail", args=[incident.reference]))
        delete_url = reverse(
            "incidents:row_delete", args=[incident.reference, "lessons", lesson.pk]
        )
        opened = re.search(
            rf'action="{delete_url}".*?name="version" value="(\d+)"', page.content.decode(), re.S
        )
        assert opened, "the delete form carries the row's version"
        seen = opened.group(1)
        # A colleague rewrites the lesson after the page was opened.
        theirs = Lesson.objects.get(pk=lesson.pk)
        theirs.text = "Alerts came 9 min late"
        services.part_save(row=theirs, user=None)

        url = delete_url
        response = editor_client.post(url, {"version": seen}, **HTMX)
        assert response.status_code == 200
        assert Lesson.objects.filter(pk=lesson.pk, text="Alerts came 9 min late").exists()
        html = response.content.decode()
        assert "changed since you opened the page, so it was not deleted" in html
        assert "Alerts came 9 min late" in html  # the section shows what it is now

        # Without htmx the page says so at the top after the redirect.
        followed = editor_client.post(url, {"version": seen}, follow=True)
        assert "so it was not deleted" in followed.content.decode()

        current = Lesson.objects.get(pk=lesson.pk).version
        assert editor_client.post(url, {"version": current}, **HTMX).status_code == 200
        assert not Lesson.objects.filter(pk=lesson.pk).exists()

    def test_unknown_section_is_404(self, editor_client, incident):
        url = reverse("incidents:row_new", args=[incident.reference, "nonsense"])
        assert editor_client.get(url).status_code == 404

    def test_moving_a_lesson_up_reorders_its_kind_only(self, editor_client, incident):
        a, _b, c = (
            services.part_save(row=Lesson(incident=incident, kind="went_wrong", text=t), user=None)
            for t in "abc"
        )
        other = services.part_save(row=Lesson(incident=incident, kind="lucky", text="x"), user=None)
        url = reverse("incidents:row_move", args=[incident.reference, "lessons", c.pk])
        editor_client.post(url, {"direction": "up"}, **HTMX)
        assert [row.text for row in a.siblings()] == ["a", "c", "b"]
        other.refresh_from_db()
        assert other.order == 0

    def test_timeline_is_ordered_by_time_not_by_hand(self, editor_client, incident):
        event = services.timeline_event_add(incident=incident, occurred_at=T0, text="x")
        url = reverse("incidents:row_move", args=[incident.reference, "timeline", event.pk])
        assert editor_client.post(url, {"direction": "up"}).status_code == 404


class TestTransitions:
    def test_resolving_asks_when_it_ended_and_writes_the_timeline_then(
        self, editor_client, incident
    ):
        url = reverse("incidents:resolve", args=[incident.reference])
        form = editor_client.get(url).content.decode()
        assert 'name="resolved_at"' in form
        assert "Resolved at</label>" in form

        ended = T0 + timedelta(minutes=16)
        response = editor_client.post(url, {"resolved_at": ended.strftime("%Y-%m-%dT%H:%M")})

        assert response.status_code == 302
        incident.refresh_from_db()
        assert (incident.status, incident.resolved_at) == ("resolved", ended)
        event = incident.timeline_events.get()
        assert (event.kind, event.source, event.occurred_at) == (
            TimelineEvent.Kind.RESOLVED,
            TimelineEvent.Source.SYSTEM,
            ended,
        )
        assert "Investigating" in event.text
        assert "Resolved" in event.text

    def test_an_end_written_in_the_details_is_refused_beside_the_field_naming_resolve(
        self, editor_client, incident
    ):
        """The trial: Edit details, Resolved at 06:18, save; the end is set by resolving."""
        data = {
            "title": incident.title,
            "severity": incident.severity,
            "status_line": "",
            "started_at": T0.strftime("%Y-%m-%dT%H:%M"),
            "resolved_at": (T0 + timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M"),
            "version": incident.version,
            "base": VersionedForm.sign_base(comparable_values(incident, ["resolved_at"])),
        }
        response = editor_client.post(
            reverse("incidents:details_edit", args=[incident.reference]), data
        )

        assert response.status_code == 422
        assert "use Resolve on the incident page" in response.content.decode()
        incident.refresh_from_db()
        assert (incident.status, incident.resolved_at) == ("investigating", None)

    def test_resolving_keeps_an_end_already_written_down(self, incident):
        """A status change never overwrites a time the author set."""
        services.incident_set_status(
            incident=incident, status="resolved", user=None, at=T0 + timedelta(minutes=16)
        )
        services.incident_set_status(incident=incident, status="monitoring", user=None)
        incident.resolved_at = T0 + timedelta(minutes=16)  # an end kept from before
        services.incident_set_status(incident=incident, status="resolved", user=None)

        incident.refresh_from_db()
        assert incident.resolved_at == T0 + timedelta(minutes=16)

    def test_a_status_change_of_a_back_dated_incident_is_written_when_the_author_says(
        self, editor_client, incident
    ):
        at = T0 + timedelta(minutes=7)
        response = editor_client.post(
            reverse("incidents:set_status", args=[incident.reference]),
            {"status": "identified", "at": at.strftime("%Y-%m-%dT%H:%M")},
        )

        assert response.status_code == 302
        assert incident.timeline_events.get().occurred_at == at

    def test_a_status_change_before_the_start_is_refused_beside_the_time(
        self, editor_client, incident
    ):
        response = editor_client.post(
            reverse("incidents:set_status", args=[incident.reference]),
            {"status": "identified", "at": (T0 - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")},
        )

        assert response.status_code == 422
        assert "before the incident started" in response.content.decode()
        assert not incident.timeline_events.exists()

    def test_reopening_keeps_the_earlier_end_in_the_history_and_resolving_asks_again(
        self, editor_client, incident
    ):
        ended = T0 + timedelta(minutes=16)
        services.incident_set_status(incident=incident, status="resolved", user=None, at=ended)
        editor_client.post(
            reverse("incidents:set_status", args=[incident.reference]),
            {"status": "investigating", "at": (T0 + timedelta(minutes=30)).isoformat()},
        )

        incident.refresh_from_db()
        assert (incident.status, incident.resolved_at) == ("investigating", None)
        assert incident.timeline_events.count() == 2
        reopened = incident.timeline_events.order_by("occurred_at").last()
        assert "it had been resolved at 2026-01-02 06:18 UTC" in reopened.text
        assert ended in set(incident.history.values_list("resolved_at", flat=True))
        form = editor_client.get(reverse("incidents:resolve", args=[incident.reference]))
        assert ended.strftime("%Y-%m-%dT%H:%M") not in form.content.decode()

    def test_postmortem_states_each_write_an_event(self, editor_client, incident):
        url = reverse("incidents:set_postmortem_state", args=[incident.reference])
        editor_client.post(url, {"state": "in_review"})
        editor_client.post(url, {"state": "published"})
        incident.refresh_from_db()
        assert incident.postmortem_state == "published"
        assert incident.timeline_events.count() == 2

    def test_unknown_status_changes_nothing(self, editor_client, incident):
        response = editor_client.post(
            reverse("incidents:set_status", args=[incident.reference]),
            {"status": "exploded", "at": T0.isoformat()},
        )
        assert response.status_code == 422
        incident.refresh_from_db()
        assert incident.status == "investigating"
        assert incident.version == 1


class TestPreviewAndHistory:
    def test_preview_is_the_sanitized_renderer(self, editor_client):
        response = editor_client.post(
            reverse("incidents:preview") + "?field=value",
            {"value": "**hi** <script>x</script>"},
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "<strong>hi</strong>" in html
        assert "<script>" not in html

    def test_history_shows_who_changed_what_from_what(self, client, incident):
        editor = user_with_role("editor", username="ana")
        client.force_login(editor)
        client.post(prose_url(incident), prose_post(incident, "summary", "Second words."))
        html = client.get(reverse("incidents:history", args=[incident.reference])).content.decode()
        assert "ana" in html
        assert "First words." in html
        assert "Second words." in html

    def test_history_query_count_does_not_grow_with_changes(self, client, incident):
        client.force_login(user_with_role("viewer"))
        url = reverse("incidents:history", args=[incident.reference])
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            counts.append(len(ctx.captured_queries))
            for i in range(20):
                services.incident_update(
                    incident=incident, expected_version=incident.version, summary=f"v{i}"
                )
                services.part_save(
                    row=Lesson(incident=incident, kind="lucky", text=f"{i}"), user=None
                )
        assert counts[0] == counts[1]


class TestIncidentPageForRoles:
    def test_viewer_sees_no_edit_controls(self, client, incident):
        client.force_login(user_with_role("viewer"))
        html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
        for control in ("Edit details", "Set status", "+ Add", 'hx-post="', "Delete"):
            assert control not in html

    def test_editor_sees_them(self, editor_client, incident):
        html = editor_client.get(
            reverse("incidents:detail", args=[incident.reference])
        ).content.decode()
        for control in ("Edit details", "Set status", "+ Add event"):
            assert control in html

    def test_page_queries_stay_flat_with_history_and_rows(self, editor_client, incident):
        url = reverse("incidents:detail", args=[incident.reference])
        with CaptureQueriesContext(connection) as before:
            editor_client.get(url)
        for i in range(30):
            services.part_save(
                row=Cause(incident=incident, kind="contributing", title=f"c{i}"), user=None
            )
            services.timeline_event_add(
                incident=incident, occurred_at=T0 + timedelta(minutes=i), text=f"e{i}"
            )
        with CaptureQueriesContext(connection) as after:
            editor_client.get(url)
        assert len(before.captured_queries) == len(after.captured_queries)
        assert Incident.objects.count() == 1


def test_saving_the_conflict_form_again_overwrites_on_purpose(client, incident):
    import re as re_

    client.force_login(user_with_role("editor"))
    stale = prose_post(incident, "summary", "Mine.")
    services.incident_update(incident=incident, expected_version=1, summary="Theirs.")
    html = client.post(prose_url(incident), stale, **HTMX).content.decode()
    hidden = dict(re_.findall(r'<input type="hidden" name="(version|base)" value="([^"]*)"', html))
    response = client.post(prose_url(incident), {**hidden, "value": "Merged."}, **HTMX)
    assert response.status_code == 200, response.content.decode()[:500]
    incident.refresh_from_db()
    assert incident.summary == "Merged."


def test_ticking_a_success_criterion_records_when(client, incident):
    client.force_login(user_with_role("editor"))
    criterion = services.part_save(
        row=SuccessCriterion(incident=incident, text="Build under 60 s"), user=None
    )
    url = reverse("incidents:criterion_toggle", args=[incident.reference, criterion.pk])
    response = client.post(url, {"done": "1"}, **HTMX)
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    criterion.refresh_from_db()
    assert criterion.done
    assert criterion.done_at is not None
    client.post(url, {"done": "0"})
    criterion.refresh_from_db()
    assert not criterion.done
    assert criterion.done_at is None


def test_editing_an_items_title_never_undoes_a_tick_made_meanwhile(incident):
    item = services.part_save(row=ActionItem(incident=incident, title="Old title"), user=None)
    stale = ActionItem.objects.get(pk=item.pk)  # the editor's copy, read before the tick
    services.action_item_complete(item=ActionItem.objects.get(pk=item.pk), user=None)
    stale.title = "New title"
    services.part_save(row=stale, user=None, fields=["title"])
    item.refresh_from_db()
    assert item.title == "New title"
    assert item.status == ActionItem.Status.DONE
    assert item.done_at is not None


class TestOneConflictPolicy:
    """incident_update holds the rule for the page and the API alike: a stale version conflicts
    only on the fields both people changed, and only a caller that says what it started from
    can be merged."""

    def _stale(self, incident):
        started_from = Incident.objects.get(pk=incident.pk)
        services.incident_update(
            incident=Incident.objects.get(pk=incident.pk),
            expected_version=incident.version,
            title="Retitled by someone else",
        )
        return started_from

    def test_a_field_only_the_other_person_changed_keeps_their_value(self, incident):
        mine = self._stale(incident)
        saved = services.incident_update(
            incident=mine,
            expected_version=mine.version,
            base=comparable_values(mine, ["summary"]),
            summary="My summary.",
        )
        assert (saved.title, saved.summary) == ("Retitled by someone else", "My summary.")
        assert saved.version == incident.version + 2

    def test_a_field_both_changed_is_a_conflict_that_names_it(self, incident):
        mine = self._stale(incident)
        with pytest.raises(services.StaleVersion) as conflict:
            services.incident_update(
                incident=mine,
                expected_version=mine.version,
                base=comparable_values(mine, ["title", "summary"]),
                title="My title",
                summary="My summary.",
            )
        assert conflict.value.fields == ["title"]
        assert conflict.value.current_version == incident.version + 1
        assert Incident.objects.get(pk=incident.pk).summary == "First words."

    def test_without_a_base_any_stale_version_is_refused(self, incident):
        mine = self._stale(incident)
        with pytest.raises(services.StaleVersion) as stale:
            services.incident_update(
                incident=mine, expected_version=mine.version, summary="My summary."
            )
        assert stale.value.current_version == incident.version + 1
        assert Incident.objects.get(pk=incident.pk).summary == "First words."
