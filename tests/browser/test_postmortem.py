"""Writing a post-mortem in Chromium: rows, preview, transitions and the conflict flow."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import lazy_parts_loaded, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_demo_incident(page: Page, base: str) -> None:
    page.goto(f"{base}/incidents/INC-1/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("MoodMash")
    lazy_parts_loaded(page)


def test_editor_adds_timeline_events_and_a_cause_without_reloading(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    timeline = page.locator("#section-timeline")
    before = timeline.locator("li.event").count()
    marker = page.evaluate("window.__marker = 'same page'; window.__marker")

    for minute, text in (
        ("06:05", "Pager went off for **checkout**"),
        ("06:09", "Rollback chosen"),
    ):
        timeline.get_by_role("link", name="+ Add event").click()
        form = timeline.locator(".row-form")
        form.get_by_label("Occurred at").fill(f"2026-01-02T{minute}")
        form.get_by_label("Text").fill(text)
        form.get_by_role("button", name="Add event").click()
        expect(timeline.locator(".row-form")).to_have_count(0)

    expect(timeline.locator("li.event")).to_have_count(before + 2)
    expect(timeline.locator("strong", has_text="checkout")).to_be_visible()

    causes = page.locator("#section-causes")
    causes.get_by_role("link", name="+ Add contributing factor").click()
    causes.get_by_label("Title").fill("Nothing checked the build output")
    causes.get_by_role("button", name="Add cause").click()
    expect(causes.get_by_text("Nothing checked the build output")).to_be_visible()
    # Every step happened in place: the page's own JavaScript state survived.
    assert page.evaluate("window.__marker") == marker


def test_markdown_preview_shows_the_sanitized_rendering(editor_page: Page, demo: str) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    block = page.locator("#prose-resolution")
    block.get_by_role("link", name=re.compile("Edit")).click()
    box = page.locator("#prose-resolution textarea")
    box.fill("Rolled **back** <script>window.__pwned = 1</script>")
    preview = page.locator("#prose-resolution .preview")
    expect(preview.locator("strong")).to_have_text("back")
    assert page.evaluate("window.__pwned") is None
    expect(preview.locator("script")).to_have_count(0)


def test_two_editors_on_the_summary_get_a_conflict_not_a_lost_edit(
    editor_page: Page, second_editor: Page, demo: str
) -> None:
    first, second = editor_page, second_editor
    for page in (first, second):
        open_demo_incident(page, demo)
        page.locator("#prose-summary").get_by_role("link", name=re.compile("Edit")).click()

    second.locator("#prose-summary textarea").fill("The admin's account of what happened.")
    second.locator("#prose-summary").get_by_role("button", name="Save").click()
    expect(second.locator("#prose-summary textarea")).to_have_count(0)
    expect(second.locator("#prose-summary .prose")).to_contain_text("The admin's account")

    first.locator("#prose-summary textarea").fill("The editor's own account.")
    first.locator("#prose-summary").get_by_role("button", name="Save").click()
    conflict = first.locator("#prose-summary .conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("The admin's account")
    expect(first.locator("#prose-summary textarea")).to_have_value("The editor's own account.")
    screenshot(first, "conflict")

    # Merging by hand and saving again wins on purpose.
    first.locator("#prose-summary textarea").fill("Both accounts, merged.")
    first.locator("#prose-summary").get_by_role("button", name="Save").click()
    expect(first.locator("#prose-summary textarea")).to_have_count(0)
    expect(first.locator("#prose-summary .prose")).to_contain_text("Both accounts, merged.")
    second.reload()
    expect(second.locator("#prose-summary .prose")).to_contain_text("Both accounts, merged.")


def test_status_transition_lands_on_the_timeline(editor_page: Page, demo: str) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    # The demo incident is resolved: the status control reopens it, as of the time given.
    page.get_by_label("Reopen as").select_option("monitoring")
    page.get_by_label("As of").fill("2026-01-02T06:30")
    page.get_by_role("button", name="Reopen").click()
    expect(page.locator(".summary-box .state")).to_have_text("Monitoring")
    expect(page.locator("#section-timeline")).to_contain_text(
        "Status changed from Resolved to Monitoring"
    )


def test_viewer_sees_no_edit_controls(page: Page, demo: str) -> None:
    log_in(page, demo, "demo-viewer")
    open_demo_incident(page, demo)
    expect(page.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    # The deployments section loads after the page; wait for it, so its buttons are counted too.
    expect(page.get_by_role("button", name="Copy")).to_have_count(1)  # reads, changes nothing
    expect(page.get_by_role("button")).to_have_count(2)  # that, and "Log out"
    screenshot(page, "incident-as-viewer")
