"""What every browser test relies on: what htmx swaps in is live the moment it shows (conftest's
SETTLE_AT_ONCE), so whether a test passes does not depend on how fast the machine is, on what
ran before it in the same process, or on how the suite is split across workers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import lazy_parts_loaded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Types into the resolution's box in the microtask after htmx puts the form in the page: sooner
# than Playwright ever acts, and than any person.
TYPE_ON_ARRIVAL = """
new MutationObserver((changes, observer) => {
  const box = document.querySelector("#prose-resolution textarea");
  if (box) {
    observer.disconnect();
    box.value = "Rolled **back** at once";
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }
}).observe(document.body, {childList: true, subtree: true});
"""


def test_text_typed_the_moment_a_form_is_swapped_in_gets_its_preview(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    page.evaluate(TYPE_ON_ARRIVAL)
    page.locator("#prose-resolution").get_by_role("link", name=re.compile("Edit")).click()
    expect(page.locator("#prose-resolution .preview strong")).to_have_text("back")
