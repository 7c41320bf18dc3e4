"""Importing a post-mortem in Chromium: upload, preview, confirm, land on the new incident; and
the incident page's download and print view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from incidents.models import Incident
from tests.browser.conftest import lazy_parts_loaded, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCUMENT = Path(__file__).parent.parent / "incidents" / "documents" / "seed_ledgerly.md"


def test_an_editor_uploads_previews_and_imports_a_post_mortem(editor_page: Page, demo: str):
    page = editor_page
    page.goto(f"{demo}/incidents/")
    page.get_by_role("link", name="Import post-mortem").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import a post-mortem")

    page.get_by_label("Markdown file").set_input_files(str(DOCUMENT))
    page.get_by_role("button", name="Preview import").click()
    # The document names a service this server does not have: choose one, without re-uploading.
    expect(page.get_by_role("alert").first).to_contain_text('"Ledgerly"')
    page.get_by_label("Service").select_option("moodmash")
    page.get_by_role("button", name="Preview import").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Preview: Ledgerly - Post-Mortem & Recovery Plan"
    )
    counts = page.locator("table.import-counts")
    expect(counts.get_by_role("row", name=re.compile(r"^Action items 14$"))).to_be_visible()
    # Its "What happened" steps give no times: they are the summary's story, not events.
    expect(counts.get_by_role("row", name=re.compile(r"^Summary 1$"))).to_be_visible()
    screenshot(page, "import-preview")
    assert Incident.objects.count() == 1  # the preview wrote nothing

    page.get_by_role("button", name="Import as a new incident").click()

    expect(page).to_have_url(re.compile(r"/incidents/INC-2/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ledgerly - Post-Mortem & Recovery Plan"
    )
    expect(page.locator("ul.messages")).to_contain_text("INC-2 imported")
    expect(page.get_by_text("Install the migration linter")).to_be_visible()
    incident = Incident.objects.get(number=2)
    assert incident.service.slug == "moodmash"
    assert incident.action_items.count() == 14


def test_the_incident_page_downloads_markdown_and_prints_without_controls(
    editor_page: Page, demo: str, tmp_path
):
    page = editor_page
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download Markdown").click()

    assert download.value.suggested_filename == "INC-1-postmortem.md"
    saved = tmp_path / "INC-1.md"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("# MoodMash")
    assert "## Action Items" in text
    assert "- [x] " in text

    expect(page.get_by_role("link", name="Edit details")).to_be_visible()
    page.emulate_media(media="print")

    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.get_by_role("link", name="Edit details")).to_be_hidden()
    expect(page.get_by_role("link", name="Download Markdown")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Action items")).to_be_visible()
