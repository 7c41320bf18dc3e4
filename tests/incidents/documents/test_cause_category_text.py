"""A cause's category in the text forms of a post-mortem: the Markdown export writes it after the
cause's title as "(category: configuration)", the import reads it back (and warns, keeping the
words, when it names no category), and "Edit as text" shows it, sets it, clears it when the
aside is deleted, refuses an unknown one beside its line, and keeps a category someone set
meanwhile when the text leaves that cause alone."""

from __future__ import annotations

import html

import pytest

from incidents.documents import services as document_services
from incidents.documents.exports import export_incident
from incidents.documents.importer import parse_postmortem
from incidents.models import Cause
from incidents.postmortem import services
from tests.factories import IncidentFactory, user_with_role
from tests.incidents.documents.test_section_text import open_text, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def editor(client):
    client.force_login(user_with_role("editor", username="bea"))
    return client


@pytest.fixture
def causes(incident):
    key = services.part_save(
        row=Cause(
            incident=incident, kind="primary", title="The key expired", category="configuration"
        ),
        user=None,
    )
    alert = services.part_save(
        row=Cause(incident=incident, kind="primary", title="No expiry alert", parent=key),
        user=None,
    )
    return key, alert


def test_the_export_writes_the_category_after_the_title(incident, causes):
    markdown = export_incident(incident.reference, "md").text()

    assert "- **The key expired** (category: configuration)\n  - **No expiry alert**\n" in markdown


def test_an_export_imported_again_keeps_every_category(incident, causes):
    markdown = export_incident(incident.reference, "md").text()

    copy = document_services.postmortem_import(data=markdown, user=None, force=True).incident

    assert {(c.title, c.category) for c in copy.causes.all()} == {
        ("The key expired", "configuration"),
        ("No expiry alert", ""),
    }


@pytest.mark.parametrize(
    ("written", "category"),
    [
        ("configuration", "configuration"),
        ("Change or deployment", "change"),
        ("deployment", "change"),
        ("Monitoring gap", "monitoring"),
        ("external-dependency", "dependency"),
    ],
)
def test_the_import_reads_a_category_by_its_value_or_the_words_the_form_shows(written, category):
    draft = parse_postmortem(
        f"# Outage\n\n## Root Cause Analysis\n\n- **The key expired** (category: {written})\n"
        f"- A plain cause (Category: {written})\n"
    )

    assert [(c.title, c.category) for c in draft.causes] == [
        ("The key expired", category),
        ("A plain cause", category),
    ]


def test_a_root_cause_written_as_a_field_line_takes_its_category_too():
    draft = parse_postmortem(
        "# Outage\n\n**Root cause:** The signing key expired (category: configuration)\n"
    )

    [cause] = draft.causes
    assert (cause.kind, cause.title, cause.category) == (
        "primary",
        "The signing key expired",
        "configuration",
    )


def test_an_unknown_category_in_an_import_is_kept_in_the_text_with_a_warning():
    draft = parse_postmortem(
        "# Outage\n\n## Root Cause Analysis\n\n- **The key expired** (category: gremlins)\n"
    )

    [cause] = draft.causes
    assert (cause.title, cause.category, cause.detail) == (
        "The key expired",
        "",
        "(category: gremlins)",
    )
    assert any(
        "“gremlins” is not a cause category" in warning and "The key expired" in warning
        for warning in draft.report.warnings
    )


def test_edit_as_text_shows_the_category_and_saving_it_unchanged_changes_nothing(
    editor, incident, causes
):
    text, opened = open_text(editor, incident, "causes")
    assert text == (
        "### Primary Cause\n\n"
        "- **The key expired** (category: configuration)\n"
        "  - **No expiry alert**\n"
    )

    page = post(editor, incident, "causes", text, opened, apply=False).content.decode()

    assert "No changes." in page


def test_edit_as_text_sets_changes_and_clears_a_category_as_the_text_says(editor, incident, causes):
    key, alert = causes
    text, opened = open_text(editor, incident, "causes")
    text = text.replace("(category: configuration)", "(category: data)")
    text = text.replace("**No expiry alert**", "**No expiry alert** (category: monitoring)")

    assert post(editor, incident, "causes", text, opened).status_code == 302
    key.refresh_from_db()
    alert.refresh_from_db()
    assert (key.category, alert.category) == ("data", "monitoring")

    text, opened = open_text(editor, incident, "causes")
    assert (
        post(editor, incident, "causes", text.replace(" (category: data)", ""), opened).status_code
        == 302
    )
    key.refresh_from_db()
    alert.refresh_from_db()
    assert (key.category, alert.category) == ("", "monitoring")
    assert key.title == "The key expired"


def test_an_unknown_category_is_named_beside_its_line_and_nothing_is_applied(
    editor, incident, causes
):
    key, _ = causes
    text, opened = open_text(editor, incident, "causes")
    text = text.replace("(category: configuration)", "(category: gremlins)")

    response = post(editor, incident, "causes", text, opened, apply=False)

    assert response.status_code == 422
    page = html.unescape(response.content.decode())
    assert "Line 3: “gremlins” is not a cause category; write one of: change, code," in page
    assert "(category: gremlins)" in page  # the text is kept for the fix
    key.refresh_from_db()
    assert key.category == "configuration"


def test_a_category_set_meanwhile_is_kept_when_the_text_leaves_it_alone(editor, incident, causes):
    key, alert = causes
    text, opened = open_text(editor, incident, "causes")
    for row, category in ((key, "data"), (alert, "monitoring")):
        theirs = Cause.objects.get(pk=row.pk)
        theirs.category = category
        services.part_save(row=theirs, user=None, fields=["category"])

    # The text, opened before, edits the first cause's title and nothing of the second.
    edited = text.replace("The key expired", "The signing key expired")
    assert post(editor, incident, "causes", edited, opened).status_code == 302

    key.refresh_from_db()
    alert.refresh_from_db()
    assert (key.title, key.category) == ("The signing key expired", "data")
    assert alert.category == "monitoring"


def test_a_cause_added_in_the_text_with_a_category_gets_it(editor, incident, causes):
    text, opened = open_text(editor, incident, "causes")
    text += "\n### Trigger\n\n- **The nightly renewal job** (category: Capacity or load)\n"

    assert post(editor, incident, "causes", text, opened).status_code == 302

    added = Cause.objects.get(title="The nightly renewal job")
    assert (added.kind, added.category) == ("trigger", "capacity")
