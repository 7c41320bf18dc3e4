"""Start the post-mortem in Chromium: the demo incident gets the messages its timeline never
told, marked as proposed; one click keeps one, and Discard all drops the rest."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, lazy_parts_loaded, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_starts_the_post_mortem_keeps_one_proposal_and_discards_the_rest(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    page.get_by_role("button", name="Start the post-mortem").click()
    expect(page.locator(".messages")).to_contain_text("Proposed 3 timeline lines.")
    timeline = page.locator("#section-timeline")
    proposed = timeline.locator("li.proposed")
    expect(proposed).to_have_count(3)
    expect(proposed.first).to_contain_text("moodmash.win is not loading")
    expect(page.locator("#draft")).to_contain_text("3 proposals to review")
    screenshot(page, "incident-draft-proposed")
    page.locator("#draft").screenshot(path=SCREENSHOTS / "incident-draft-panel.png")
    timeline.screenshot(path=SCREENSHOTS / "incident-draft-timeline.png")

    proposed.first.get_by_role("button", name="Keep proposed event").click()
    expect(timeline.locator("li.proposed")).to_have_count(2)
    expect(timeline.locator("li.event", has_text="moodmash.win is not loading")).to_have_count(1)

    page.locator("#draft").get_by_role("button", name="Discard all").click()
    expect(page.locator(".messages")).to_contain_text("Discarded 2 proposals.")
    expect(timeline.locator("li.proposed")).to_have_count(0)
    expect(page.locator("#draft")).not_to_contain_text("to review")
    # The kept line is an ordinary one now, and stays.
    expect(timeline.locator("li.event", has_text="moodmash.win is not loading")).to_have_count(1)
