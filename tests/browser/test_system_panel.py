"""The demo incident's "Deployments and health" in Chromium: the suspect, the last known good with
a working copy button, the strip; and the System pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from incidents.demo.system import KNOWN_GOOD_EXTERNAL_ID
from tests.browser.conftest import SCREENSHOTS, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMAND = f"npx wrangler pages deployment rollback {KNOWN_GOOD_EXTERNAL_ID}"


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    # So the test can read back what the copy button put on the clipboard.
    return {**browser_context_args, "permissions": ["clipboard-read", "clipboard-write"]}


def clipboard(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def test_the_demo_incident_shows_suspect_last_known_good_and_the_strip(
    page: Page, demo: str
) -> None:
    log_in(page, demo, "demo-editor")
    page.goto(f"{demo}/incidents/INC-1/")
    section = page.locator("#section-system")
    # Fetched after the page by htmx: the placeholder's link is replaced by the section.
    expect(section.locator(".suspect-card")).to_be_visible()
    expect(section.locator(".suspect-card")).to_contain_text("Unhealthy")
    expect(section.locator(".suspect-card")).to_contain_text("Already among this incident's")
    expect(section.locator(".lkg-card")).to_contain_text("dc8023d")
    expect(section.locator("#rollback-command-INC-1")).to_have_text(COMMAND)
    expect(section.locator("tr.suspect")).to_have_count(1)

    strip = section.locator("svg.check-strip")
    expect(strip).to_be_visible()
    expect(strip.locator("text.strip-label")).to_have_count(5)
    expect(strip.locator("rect.cell.failed")).to_have_count(5 * 16)
    box = strip.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 50
    # Deployment and health rows merged into the timeline, marked by their source.
    expect(page.locator("#section-timeline li.merged[data-source='health']")).to_have_count(2)
    screenshot(page, "incident-system-panel")
    section.screenshot(path=SCREENSHOTS / "incident-system-section.png")

    section.get_by_role("button", name="Copy").click()
    expect(section.get_by_role("button", name="Copied")).to_be_visible()
    expect(section.locator(".copy-status")).to_have_text("Command copied to the clipboard.")
    assert clipboard(page) == COMMAND


def test_the_system_pages_lead_to_the_environment_and_its_rollback_command(
    page: Page, demo: str
) -> None:
    log_in(page, demo, "demo-viewer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="System").click()
    expect(page.get_by_role("heading", name="System", level=1)).to_be_visible()
    screenshot(page, "system-services")
    page.get_by_role("link", name="production").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("MoodMash / production")
    expect(page.locator("tr.known-good")).to_have_count(1)
    expect(page.locator("tr.known-good")).to_contain_text("rollback of")
    expect(page.get_by_role("link", name="INC-1").first).to_be_visible()
    screenshot(page, "system-environment")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert clipboard(page).startswith("npx wrangler pages deployment rollback ")
