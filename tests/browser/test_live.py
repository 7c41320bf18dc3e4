"""Two people on one incident page: what one adds shows on the other's page within five
seconds, without a reload, and never under the other's hands while they type."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import lazy_parts_loaded, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WITHIN_FIVE_SECONDS = 5_000


def open_incident(page: Page, base: str) -> None:
    page.goto(f"{base}/incidents/INC-1/")
    lazy_parts_loaded(page)
    # Set on this page only: a reload would lose it.
    page.evaluate("window.__samePage = true")


def add_lesson(page: Page, text: str) -> None:
    lessons = page.locator("#section-lessons")
    lessons.get_by_role("link", name="+ Add what went wrong").click()
    form = lessons.locator(".row-form")
    form.get_by_label("Text").fill(text)
    form.get_by_role("button", name="Add lesson").click()
    expect(lessons.locator(".row-form")).to_have_count(0)


def test_a_row_one_editor_adds_shows_on_the_others_page_without_a_reload(
    editor_page: Page, second_editor: Page, demo: str
) -> None:
    first, second = editor_page, second_editor
    open_incident(first, demo)
    open_incident(second, demo)
    expect(second.locator("#live-presence")).to_contain_text(
        "demo-editor", timeout=WITHIN_FIVE_SECONDS
    )

    add_lesson(first, "Nobody watched the deploy finish")

    expect(second.locator("#section-lessons")).to_contain_text(
        "Nobody watched the deploy finish", timeout=WITHIN_FIVE_SECONDS
    )
    assert second.evaluate("window.__samePage") is True


def test_typing_in_an_open_form_is_not_disturbed_by_the_others_changes(
    editor_page: Page, second_editor: Page, demo: str
) -> None:
    first, second = editor_page, second_editor
    open_incident(first, demo)
    open_incident(second, demo)

    lessons = second.locator("#section-lessons")
    lessons.get_by_role("link", name="+ Add what went wrong").click()
    box = lessons.locator(".row-form").get_by_label("Text")
    box.fill("Half a sentence")
    # The first editor sees where the second is working.
    expect(first.locator("#live-presence")).to_contain_text(
        "demo-admin (editing Lessons)", timeout=WITHIN_FIVE_SECONDS
    )

    add_lesson(first, "The build had no check for missing files")

    # A notice, not a swap: the form, its text and the focus stay where they were.
    notice = second.locator(".live-notice")
    expect(notice).to_contain_text("demo-editor changed this part", timeout=WITHIN_FIVE_SECONDS)
    expect(box).to_have_value("Half a sentence")
    expect(box).to_be_focused()
    screenshot(second, "live-notice")
    box.press_sequentially(" and the rest of it.")
    expect(box).to_have_value("Half a sentence and the rest of it.")
    expect(lessons).not_to_contain_text("The build had no check for missing files")

    # Saving brings the section back as it is now, with both rows; the notice goes with it.
    lessons.locator(".row-form").get_by_role("button", name="Add lesson").click()
    expect(lessons).to_contain_text("The build had no check for missing files")
    expect(lessons).to_contain_text("Half a sentence and the rest of it.")
    expect(notice).to_have_count(0, timeout=WITHIN_FIVE_SECONDS)
    assert second.evaluate("window.__samePage") is True


def test_the_notice_shows_the_change_when_asked(
    editor_page: Page, second_editor: Page, demo: str
) -> None:
    first, second = editor_page, second_editor
    open_incident(first, demo)
    open_incident(second, demo)
    # The focus on a control of the section is enough to hold it still.
    second.locator("#section-lessons").get_by_role("link", name="+ Add what went wrong").focus()

    add_lesson(first, "Alerts went to one person only")

    notice = second.locator(".live-notice")
    expect(notice).to_be_visible(timeout=WITHIN_FIVE_SECONDS)
    notice.get_by_role("button", name=re.compile("Show")).click()
    expect(second.locator("#section-lessons")).to_contain_text("Alerts went to one person only")
    expect(notice).to_have_count(0)


def test_a_time_typed_but_not_sent_holds_its_part_still_after_the_focus_left_it(
    editor_page: Page, second_editor: Page, demo: str
) -> None:
    first, second = editor_page, second_editor
    open_incident(first, demo)
    open_incident(second, demo)
    as_of = second.locator("#summary-box").get_by_label("As of")
    as_of.fill("2026-01-02T06:30")
    # Somewhere else on the page, away from any field.
    second.locator("#section-lessons h2").click()
    expect(as_of).not_to_be_focused()

    first.locator("#summary-box").get_by_role(
        "button", name=re.compile("Send for review|Back to draft|Publish")
    ).first.click()

    expect(second.locator('[data-live-notice="summary-box"]')).to_contain_text(
        "demo-editor changed this part", timeout=WITHIN_FIVE_SECONDS
    )
    expect(as_of).to_have_value("2026-01-02T06:30")
