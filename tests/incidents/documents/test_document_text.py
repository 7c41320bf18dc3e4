"""The whole post-mortem as one document: edited with the rows' identity and conflict rules,
and a post-mortem in another layout pasted into an existing incident."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.documents.editing import textdiff
from incidents.documents.exports import export_incident
from incidents.models import ActionItem, Cause, Incident, Lesson, PathPriority, SolutionOption
from incidents.postmortem import services
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db
HIDDEN = re.compile(r'<input type="hidden" name="(opened|previewed)" value="([^"]*)"')
SAMPLES = Path(__file__).parent


@pytest.fixture
def incident():
    return IncidentFactory(title="Checkout down after a deploy", summary="A deploy broke it.")


@pytest.fixture
def editor(client):
    client.force_login(user_with_role("editor", username="bea"))
    return client


@pytest.fixture
def rows(incident):
    cause = services.part_save(
        row=Cause(incident=incident, kind="primary", title="The worker file was missing"), user=None
    )
    lesson = services.part_save(
        row=Lesson(incident=incident, kind="went_wrong", text="Nobody looked at the bundle"),
        user=None,
    )
    item = services.part_save(
        row=ActionItem(incident=incident, title="Check the bundle", horizon="today"), user=None
    )
    return cause, lesson, item


def open_document(client, incident, name="document_edit") -> tuple[str, str]:
    page = client.get(reverse(f"incidents:{name}", args=[incident.reference])).content.decode()
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1)), dict(HIDDEN.findall(page))["opened"]


def post(client, incident, text, opened, *, name="document_edit", apply=True):
    url = reverse(f"incidents:{name}", args=[incident.reference])
    preview = client.post(url, {"text": text, "opened": opened, "action": "preview"})
    if not apply:
        return preview
    found = dict(HIDDEN.findall(preview.content.decode()))
    return client.post(
        url,
        {
            "text": text,
            "opened": opened,
            "previewed": found.get("previewed", ""),
            "action": "apply",
        },
    )


def test_the_document_holds_the_prose_and_every_section(editor, incident, rows):
    text, _ = open_document(editor, incident)
    assert text == (
        "# Checkout down after a deploy\n\n"
        "## Summary\n\nA deploy broke it.\n\n"
        "## Root Cause Analysis\n\n### Primary Cause\n\n- **The worker file was missing**\n\n"
        "## Lessons Learned\n\n### What Went Wrong\n\n- Nobody looked at the bundle\n\n"
        "## Action Items\n\n### Today\n\n- [ ] Check the bundle p2 prevent\n"
    )


def test_saving_the_document_unchanged_changes_nothing(editor, incident, rows):
    text, opened = open_document(editor, incident)
    page = post(editor, incident, text, opened, apply=False).content.decode()
    assert "No changes." in page


def test_editing_the_document_edits_rows_in_place_and_the_prose(editor, incident, rows):
    cause, _lesson, item = rows
    text, opened = open_document(editor, incident)
    text = text.replace("The worker file was missing", "The compiled worker file was missing")
    text = text.replace("A deploy broke it.", "A deploy without its worker broke checkout.")
    text += "- [ ] Deploy to preview first p2 process\n"
    assert post(editor, incident, text, opened).status_code == 302
    cause.refresh_from_db()
    incident.refresh_from_db()
    assert cause.title == "The compiled worker file was missing"
    assert cause.history.order_by("-history_id").first().history_type == "~"
    assert incident.summary == "A deploy without its worker broke checkout."
    assert next(iter(ActionItem.objects.order_by("order").values_list("pk", flat=True))) == item.pk
    assert ActionItem.objects.count() == 2


def test_a_change_elsewhere_merges_with_the_document(editor, incident, rows):
    cause, lesson, _ = rows
    text, opened = open_document(editor, incident)
    theirs = Cause.objects.get(pk=cause.pk)
    theirs.title = "The build dropped the worker file"
    services.part_save(row=theirs, user=None, fields=["title"])
    post(editor, incident, text.replace("Nobody looked at", "Nobody opened"), opened)
    assert Cause.objects.get(pk=cause.pk).title == "The build dropped the worker file"
    assert Lesson.objects.get(pk=lesson.pk).text == "Nobody opened the bundle"


def test_a_heading_that_is_no_part_is_named_by_its_line(editor, incident, rows):
    text, opened = open_document(editor, incident)
    response = post(editor, incident, text + "\n## Musings\n\nhmm\n", opened, apply=False)
    page = html.unescape(response.content.decode())
    assert response.status_code == 422
    heading = text.count("\n") + 2
    assert f"Line {heading}: “Musings” is not a part" in page


def test_pasting_a_post_mortem_in_another_layout_fills_the_incident_keeping_matching_rows(
    editor, incident, rows
):
    _cause, _lesson, _item = rows
    _, opened = open_document(editor, incident, "document_paste")
    pasted = (SAMPLES / "sre_dns.md").read_text()
    response = post(editor, incident, pasted, opened, name="document_paste", apply=False)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Added" in page
    assert "Not taken from the paste" in page
    assert "the incident's title, status" in page
    assert post(editor, incident, pasted, opened, name="document_paste").status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Checkout down after a deploy"
    assert incident.timeline_events.count() > 0
    assert incident.action_items.count() > 0
    # Pasting it again changes nothing: the rows it made are matched to themselves.
    _, opened = open_document(editor, incident, "document_paste")
    page = post(editor, incident, pasted, opened, name="document_paste", apply=False)
    assert "No changes." in page.content.decode()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _fill(incident, n: int) -> None:
    owner = user_with_role("editor", username=f"owner-{n}")
    for i in range(n):
        parent = services.part_save(
            row=ActionItem(incident=incident, title=f"Item {i}", owner=owner), user=None
        )
        services.part_save(
            row=ActionItem(incident=incident, title=f"Step {i}", parent=parent), user=None
        )
        priority = services.part_save(
            row=PathPriority(incident=incident, title=f"P {i}"), user=None
        )
        services.part_save(
            row=SolutionOption(priority=priority, label="A", title="Do it"), user=None
        )


@pytest.mark.parametrize(
    "name", ["actions", "priorities", "causes", "timeline", "document_edit", "document_paste"]
)
def test_opening_a_text_costs_the_same_queries_for_1_row_and_50(editor, name):
    counts = []
    for n in (1, 50):
        incident = IncidentFactory()
        _fill(incident, n)
        if name.startswith("document"):
            url = reverse(f"incidents:{name}", args=[incident.reference])
        else:
            url = reverse("incidents:section_text", args=[incident.reference, name])
        counts.append(_queries(editor, url))
    assert counts[0] == counts[1]


def test_viewers_cannot_open_or_apply_a_text(client, incident, rows):
    client.force_login(user_with_role("viewer", username="vic"))
    for url in (
        reverse("incidents:section_text", args=[incident.reference, "causes"]),
        reverse("incidents:document_edit", args=[incident.reference]),
        reverse("incidents:document_paste", args=[incident.reference]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"text": "", "opened": "x", "action": "apply"}).status_code == 403


@pytest.fixture
def demo_incident():
    call_command("load_demo", stdout=io.StringIO())
    return Incident.objects.by_reference("INC-1")


@pytest.mark.parametrize("key", [*textdiff.TEXT_SECTIONS, "document_edit"])
def test_the_demo_post_mortem_opened_as_text_and_saved_unchanged_changes_nothing(
    editor, demo_incident, key
):
    if key == "document_edit":
        text, opened = open_document(editor, demo_incident)
        page = post(editor, demo_incident, text, opened, apply=False)
    else:
        url = reverse("incidents:section_text", args=[demo_incident.reference, key])
        body = editor.get(url).content.decode()
        found = re.search(r"<textarea[^>]*>(.*?)</textarea>", body, re.S)
        assert found is not None
        text, opened = html.unescape(found.group(1)), dict(HIDDEN.findall(body))["opened"]
        assert text.strip()
        page = editor.post(url, {"text": text, "opened": opened, "action": "preview"})
    assert page.status_code == 200
    assert "No changes." in page.content.decode()


def test_the_demo_exported_and_pasted_into_a_blank_incident_changes_nothing_when_pasted_again(
    editor, demo_incident
):
    blank = IncidentFactory(started_at=demo_incident.started_at)
    exported = export_incident(demo_incident.reference, "md").text()
    _, opened = open_document(editor, blank, "document_paste")
    response = post(editor, blank, exported, opened, name="document_paste")
    assert response.status_code == 302, html.unescape(response.content.decode())[-3000:]
    _, opened = open_document(editor, blank, "document_paste")
    page = post(editor, blank, exported, opened, name="document_paste", apply=False)
    assert "No changes." in page.content.decode()
    assert blank.action_items.count() == demo_incident.action_items.count()
    assert blank.causes.count() == demo_incident.causes.count()
