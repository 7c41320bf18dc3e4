"""The public status page in a real Chromium: no login, the demo's components with their uptime
bars, and a sign-up, from the page's link to the form, that ends on "Check your inbox"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from incidents.models import Subscriber
from tests.browser.conftest import screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_cache"),
]


def test_the_status_page_shows_components_and_uptime_bars_without_a_login(page: Page, demo: str):
    page.goto(f"{demo}/status/")
    expect(page).to_have_url(f"{demo}/status/")
    expect(page.get_by_role("heading", name="Components")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_have_count(0)
    for name in ("Homepage", "API health", "Database", "Authentication", "Login page"):
        expect(page.locator(".component-name", has_text=name)).to_be_visible()
    bars = page.locator("svg.uptime")
    expect(bars).to_have_count(5)
    expect(bars.first.locator("rect")).to_have_count(90)
    box = bars.first.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] >= 20
    expect(page.get_by_role("heading", name="moodmash.win is not loading")).to_be_visible()
    expect(page.get_by_text("Database upgrade")).to_be_visible()
    assert page.locator('link[rel="alternate"][type="application/atom+xml"]').count() == 1
    screenshot(page, "status-page")


def test_signing_up_from_the_status_page_says_check_your_inbox(page: Page, demo: str):
    page.goto(f"{demo}/status/")
    page.get_by_role("link", name="Subscribe by email").click()
    expect(page.get_by_role("heading", name="Get updates by email")).to_be_visible()
    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter an email address")
    expect(page.get_by_label("Email address")).to_have_value("not an address")

    page.get_by_label("Email address").fill("reader@example.test")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    subscriber = Subscriber.objects.get(email="reader@example.test")
    assert not subscriber.active
