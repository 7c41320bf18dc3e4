from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "hindsight-demo"


@pytest.fixture
def demo(live_server) -> str:
    """The demo loaded into the live server's database; returns the server's base URL."""
    call_command("load_demo", stdout=io.StringIO())
    return live_server.url


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(
        page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))
    ).to_be_visible()


@pytest.fixture
def editor_page(page: Page, demo: str) -> Page:
    log_in(page, demo, "demo-editor")
    return page


@pytest.fixture
def second_editor(browser: Browser, demo: str):
    """Another person in their own browser context (own cookies), logged in as an admin."""
    context = browser.new_context()
    page = context.new_page()
    log_in(page, demo, "demo-admin")
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
