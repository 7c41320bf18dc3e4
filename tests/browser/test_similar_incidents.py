"""Similar past incidents in Chromium: the panel the incident page fetches after itself, with
what the earlier incident left open, and fetched again when the title changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from incidents.insights import services as search_services
from incidents.models import ActionItem, Incident
from tests.browser.conftest import SCREENSHOTS, lazy_parts_loaded, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def earlier(demo: str) -> Incident:
    """An incident a year before the demo's, told in other words, with one item still open."""
    current = Incident.objects.get(number=1)
    before = Incident.objects.create(
        number=90,
        service=current.service,
        title="MoodMash down after a deploy shipped without the worker file",
        started_at=current.started_at - timedelta(days=365),
        resolved_at=current.started_at - timedelta(days=365) + timedelta(minutes=40),
        status=Incident.Status.RESOLVED,
    )
    ActionItem.objects.create(incident=before, title="Fail the build when a worker file is missing")
    ActionItem.objects.create(
        incident=before,
        title="Roll back by hand",
        status=ActionItem.Status.DONE,
        done_at=before.resolved_at,
    )
    search_services.search_documents_rebuild()
    return before


def test_the_incident_page_shows_an_earlier_incident_and_what_it_left_open(
    page: Page, demo: str, earlier: Incident
) -> None:
    log_in(page, demo, "demo-editor")
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    panel = page.locator("#similar")
    expect(panel.get_by_role("heading", name="Similar past incidents")).to_be_visible()
    expect(panel).to_contain_text(earlier.title)
    expect(panel).to_contain_text("Close text")
    expect(panel).to_contain_text("1 action item still open")
    expect(
        panel.get_by_role("link", name="Fail the build when a worker file is missing")
    ).to_be_visible()
    expect(panel).not_to_contain_text("Roll back by hand")
    panel.scroll_into_view_if_needed()
    screenshot(page, "incident-similar-panel")
    panel.screenshot(path=SCREENSHOTS / "incident-similar-section.png")

    # A title that no longer looks like the earlier one: the panel looks again once it is saved.
    box = page.locator("#summary-box")
    box.get_by_role("link", name="Edit details").click()
    box.get_by_label("Title").fill("Sign-in slow for a few people")
    box.get_by_role("button", name="Save details").click()
    expect(box).to_contain_text("Sign-in slow for a few people")
    expect(panel).to_contain_text("No earlier incident looks like this one.")
