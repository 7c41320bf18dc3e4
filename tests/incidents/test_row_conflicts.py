"""Two people editing one row of a section in the page: the later save never overwrites the
earlier one unseen. It conflicts only on the fields both changed, shows theirs beside what it
keeps of yours, and saves on top when saved again."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from incidents.models import ActionItem, Cause, Lesson, TimelineEvent
from incidents.postmortem import services
from tests.factories import T0, IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
HIDDEN = re.compile(r'<input type="hidden" name="(version|base)" value="([^"]*)"')


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def editor(client):
    client.force_login(user_with_role("editor", username="bea"))
    return client


def edit_url(row, key):
    return reverse("incidents:row_edit", args=[row.incident.reference, key, row.pk])


def opened(client, row, key) -> dict[str, str]:
    """What the editor's browser holds after opening Edit: the version and the signed base."""
    response = client.get(edit_url(row, key), **HTMX)
    assert response.status_code == 200
    return dict(HIDDEN.findall(response.content.decode()))


def someone_else_saves(row, **changes):
    theirs = type(row).objects.get(pk=row.pk)
    for name, value in changes.items():
        setattr(theirs, name, value)
    return services.part_save(
        row=theirs,
        user=user_with_role("editor", username="ada"),
        fields=list(changes),
        expected_version=theirs.version,
    )


@pytest.fixture
def lesson(incident):
    return services.part_save(
        row=Lesson(incident=incident, kind="went_wrong", text="Nobody checked the build."),
        user=None,
    )


def test_a_stale_save_of_the_same_lesson_is_a_409_with_both_texts_keeping_mine(editor, lesson):
    """The trial: A and B open Edit on one lesson; A saves, B saves: both got 200 and A's text
    was gone."""
    form = opened(editor, lesson, "lessons")
    someone_else_saves(lesson, text="A: the build output was never *checked*.")

    response = editor.post(
        edit_url(lesson, "lessons"),
        {**form, "kind": "went_wrong", "text": "B: nothing looked at the worker file."},
        **HTMX,
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else saved this lesson while you were editing" in html
    assert "ada" in html
    conflict = html[html.index('class="conflict"') : html.index('class="yours"')]
    assert "A: the build output was never *checked*." in conflict  # their source
    assert "<em>checked</em>" in conflict  # and as the page shows it
    yours = html[html.index('class="yours"') :]
    assert "B: nothing looked at the worker file.</textarea>" in yours
    assert Lesson.objects.get(pk=lesson.pk).text == "A: the build output was never *checked*."


def test_saving_the_conflict_form_again_puts_mine_on_top_on_purpose(editor, lesson):
    form = opened(editor, lesson, "lessons")
    someone_else_saves(lesson, text="A's words.")
    mine = {"kind": "went_wrong", "text": "B's words."}
    html = editor.post(edit_url(lesson, "lessons"), {**form, **mine}, **HTMX).content.decode()

    again = editor.post(edit_url(lesson, "lessons"), {**dict(HIDDEN.findall(html)), **mine}, **HTMX)

    assert again.status_code == 200
    saved = Lesson.objects.get(pk=lesson.pk)
    assert (saved.text, saved.version) == ("B's words.", 3)


def test_a_stale_save_of_another_field_goes_on_top_and_keeps_theirs(editor, incident):
    cause = services.part_save(
        row=Cause(incident=incident, kind="contributing", title="No check", detail="None ran."),
        user=None,
    )
    form = opened(editor, cause, "causes")
    someone_else_saves(cause, detail="The build step never checked its output.")

    response = editor.post(
        edit_url(cause, "causes"),
        {**form, "kind": "contributing", "title": "No check of the output", "detail": "None ran."},
        **HTMX,
    )

    assert response.status_code == 200
    saved = Cause.objects.get(pk=cause.pk)
    assert (saved.title, saved.detail) == (
        "No check of the output",
        "The build step never checked its output.",
    )


def test_ticking_an_item_while_its_edit_form_is_open_never_conflicts(editor, incident):
    item = services.part_save(
        row=ActionItem(incident=incident, title="Check the worker", horizon="today"), user=None
    )
    form = opened(editor, item, "actions")
    services.action_item_complete(item=ActionItem.objects.get(pk=item.pk), user=None)

    response = editor.post(
        edit_url(item, "actions"),
        {
            **form,
            "title": "Check the worker's size",
            "horizon": "today",
            "priority": "p2",
            "kind": "prevent",
        },
        **HTMX,
    )

    assert response.status_code == 200
    saved = ActionItem.objects.get(pk=item.pk)
    assert (saved.title, saved.status) == ("Check the worker's size", "done")


def test_a_conflict_names_their_values_as_the_page_shows_them(editor, incident):
    item = services.part_save(
        row=ActionItem(incident=incident, title="Check the worker", horizon="today"), user=None
    )
    form = opened(editor, item, "actions")
    someone_else_saves(item, owner=user_with_role("editor", username="cyd"), horizon="this_week")

    response = editor.post(
        edit_url(item, "actions"),
        {
            **form,
            "title": "Check the worker",
            "horizon": "long_term",
            "priority": "p2",
            "kind": "prevent",
            "owner": user_with_role("editor", username="dee").get_username(),
        },
        **HTMX,
    )

    assert response.status_code == 409
    theirs = re.findall(
        r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", response.content.decode(), flags=re.DOTALL
    )
    assert theirs == [("Horizon", "This week"), ("Owner", "cyd")]


def test_seconds_the_form_never_showed_are_no_edit(editor, incident):
    event = services.timeline_event_add(
        incident=incident, occurred_at=T0 + timedelta(seconds=42), text="Pager fired."
    )
    form = opened(editor, event, "timeline")
    moved = T0 + timedelta(minutes=3, seconds=7)
    someone_else_saves(event, occurred_at=moved)

    response = editor.post(
        edit_url(event, "timeline"),
        {**form, "occurred_at": "2026-01-02T06:02", "kind": "note", "text": "Pager fired twice."},
        **HTMX,
    )

    assert response.status_code == 200
    saved = TimelineEvent.objects.get(pk=event.pk)
    assert (saved.text, saved.occurred_at) == ("Pager fired twice.", moved)


def test_a_form_without_a_version_is_never_saved_blindly(editor, lesson):
    """A form opened before rows had versions: shown beside the row as it is, then saved."""
    someone_else_saves(lesson, text="A's words.")
    mine = {"kind": "went_wrong", "text": "B's words."}

    response = editor.post(edit_url(lesson, "lessons"), mine, **HTMX)

    assert response.status_code == 409
    assert Lesson.objects.get(pk=lesson.pk).text == "A's words."
    again = dict(HIDDEN.findall(response.content.decode()))
    assert editor.post(edit_url(lesson, "lessons"), {**again, **mine}, **HTMX).status_code == 200
    assert Lesson.objects.get(pk=lesson.pk).text == "B's words."


def test_a_tampered_base_is_refused(editor, lesson):
    form = opened(editor, lesson, "lessons")
    response = editor.post(
        edit_url(lesson, "lessons"),
        {**form, "base": form["base"] + "x", "kind": "went_wrong", "text": "Mine."},
        **HTMX,
    )
    assert response.status_code == 422
    assert Lesson.objects.get(pk=lesson.pk).text == "Nobody checked the build."


class _FormData(HTMLParser):
    """What a browser submits for the (one) form in a fragment, as it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if a.get("type") != "checkbox" or "checked" in a:
                self.data[name] = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def as_submitted(html: str) -> dict[str, str]:
    parser = _FormData()
    parser.feed(html[html.index("<form") :])
    return parser.data


def test_saving_the_conflict_form_again_keeps_what_only_they_changed(editor, incident):
    """The form that comes back holds their values in the fields this editor left alone, so the
    second save, which goes on top, puts none of the old ones back."""
    item = services.part_save(
        row=ActionItem(incident=incident, title="Check the worker", horizon="today"), user=None
    )
    form = opened(editor, item, "actions")
    cyd = user_with_role("editor", username="cyd")
    someone_else_saves(
        item,
        horizon="this_week",
        blocks_deployments=True,
        owner=cyd,
        due_date=T0.date() + timedelta(days=3),
        detail="Before the *next* deploy.",
    )
    mine = {
        "title": "Check the worker",
        "horizon": "long_term",
        "priority": "p2",
        "kind": "prevent",
    }
    html = editor.post(edit_url(item, "actions"), {**form, **mine}, **HTMX).content.decode()
    assert as_submitted(html)["horizon"] == "long_term"  # mine, kept

    again = editor.post(edit_url(item, "actions"), as_submitted(html), **HTMX)

    assert again.status_code == 200
    saved = ActionItem.objects.get(pk=item.pk)
    assert (saved.horizon, saved.blocks_deployments, saved.owner, saved.detail) == (
        "long_term",
        True,
        cyd,
        "Before the *next* deploy.",
    )
    assert saved.due_date == T0.date() + timedelta(days=3)
