"""The demo in a real Chromium: log in, open the post-mortem, and keep screenshots to look at."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def demo(live_server) -> str:
    call_command("load_demo", stdout=io.StringIO())
    return live_server.url


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/incidents/")
    expect(page).to_have_url(f"{base}/login/?next=/incidents/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("hindsight-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()


def test_viewer_reads_the_demo_post_mortem(page: Page, demo: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, demo, "demo-viewer")
    page.screenshot(path=SCREENSHOTS / "incident-list.png", full_page=True)

    page.get_by_role("link", name="INC-1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("MoodMash")
    for section in (
        "What happened",
        "Root cause analysis",
        "Lessons",
        "Action items",
        "Path forward",
        "Success criteria",
        "Final notes",
    ):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.locator(".summary-box")).to_contain_text("16 minutes")
    expect(page.locator(".tag.blocking").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "incident-demo.png", full_page=True)


def test_wrong_password_is_refused_beside_the_form(page: Page, demo: str) -> None:
    page.goto(f"{demo}/login/")
    page.get_by_label("Username").fill("demo-viewer")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_label("Username")).to_have_value("demo-viewer")
