"""An incident's public page in a real Chromium: reached from the status page's past incidents
without a login, with its updates and the post-mortem summary, and readable on a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_cache"),
]

PHONE_WIDTH = 390


def shot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 1000, "an empty screenshot"
    return path


def test_the_status_page_links_to_the_incident_page_which_reads_on_a_phone(
    page: Page, demo: str, tmp_path: Path
):
    page.goto(f"{demo}/status/")
    expect(page.get_by_role("heading", name="Past incidents")).to_be_visible()
    link = page.get_by_role("link", name="moodmash.win is not loading")
    expect(link).to_be_visible()
    expect(page.get_by_role("link", name="Incident history")).to_be_visible()
    shot(page, tmp_path, "status-page")

    link.click()
    expect(page).to_have_url(re.compile(rf"{re.escape(demo)}/status/incidents/INC-\d+/$"))
    expect(page.get_by_role("heading", level=1, name="moodmash.win is not loading")).to_be_visible()
    expect(page.get_by_role("heading", name="Updates")).to_be_visible()
    expect(page.get_by_text("moodmash.win is back to normal")).to_be_visible()
    expect(page.get_by_role("heading", name="Post-mortem summary")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_have_count(0)
    shot(page, tmp_path, "incident-page")

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.goto(f"{demo}/status/")
    heading = page.get_by_role("heading", name="Components")
    expect(heading).to_be_visible()
    expect(page.get_by_role("link", name="moodmash.win is not loading")).to_be_visible()
    # Nothing pushes the page wider than the phone: no sideways scrolling.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, width
    shot(page, tmp_path, "status-page-phone")
