from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.shortcuts import resolve_url
from django.test import Client
from playwright.sync_api import BrowserContext, Page, Request, expect
from playwright.sync_api import Error as PlaywrightError

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# How long a context may take to get the answers to its requests when a test ends.
QUIET_SECONDS = 5.0

# htmx shows swapped-in content at once but makes it live (its hx-* listeners, autofocus) in its
# settle step, 20 ms later by default. A person never acts within 20 ms; Playwright does, as soon
# as an element is visible, and an event it sends in that window has no listener yet: text typed
# into a form just swapped in never asked for its preview. How often it lands there depends on
# how fast the machine is at that moment, not on the test. Settling at once, in the same task as
# the swap, leaves no such window (the app has no CSS transitions that the delay would serve).
SETTLE_AT_ONCE = """
document.addEventListener("DOMContentLoaded", () => {
  if (window.htmx) window.htmx.config.defaultSettleDelay = 0;
});
"""


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext],
) -> Iterator[Callable[..., BrowserContext]]:
    """pytest-playwright's factory, behind `context` and `page` too, with htmx settling at once.

    When the test ends, each context stops sending requests and waits for the answers to those
    already sent: an open incident page keeps polling (incidents.live), and a request the live
    server is still answering when the database is emptied for the next test can deadlock with
    the emptying (it holds a lock on one table and waits for another that TRUNCATE holds)."""
    made: list[tuple[BrowserContext, list[int]]] = []

    def make(**kwargs) -> BrowserContext:
        context = new_context(**kwargs)
        context.add_init_script(SETTLE_AT_ONCE)
        in_flight = [0]  # requests sent whose answer has not come back yet

        def sent(_request: Request) -> None:
            in_flight[0] += 1

        def done(_request: Request) -> None:
            in_flight[0] -= 1

        context.on("request", sent)
        context.on("requestfinished", done)
        context.on("requestfailed", done)
        made.append((context, in_flight))
        return context

    yield make
    for context, in_flight in made:
        try:
            context.route("**/*", lambda route: route.abort())
            deadline = time.monotonic() + QUIET_SECONDS
            while in_flight[0] > 0 and time.monotonic() < deadline and context.pages:
                context.pages[0].wait_for_timeout(20)  # lets Playwright deliver the events
        except PlaywrightError:
            pass  # closed already: nothing of it is in flight


@pytest.fixture
def demo(live_server) -> str:
    """The demo loaded into the live server's database; returns the server's base URL."""
    call_command("load_demo", stdout=io.StringIO())
    return live_server.url


def lazy_parts_loaded(page: Page) -> None:
    """Wait for what the page fetches after it loads (hx-trigger="load"): on an incident page,
    "Deployments and health", which then pushes everything below it down by hundreds of pixels.
    Arriving between a click's press and release, it moves the target from under the mouse, and
    the click is lost without an error: Playwright checks the target at the press only. Call it
    before acting on a page that has such parts."""
    expect(page.locator('[hx-trigger~="load"]')).to_have_count(0)


def log_in(page: Page, base: str, username: str) -> None:
    """Signed in as `username`, on the page signing in leads to: the session the sign-in form
    would start (Django's login, its signals included), handed to the browser as its cookie.
    The form itself is driven in test_smoke.py; going through it cost every other test a page
    and a form."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    name = settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": base}])
    page.goto(f"{base}{resolve_url(settings.LOGIN_REDIRECT_URL)}")
    expect(
        page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))
    ).to_be_visible()


@pytest.fixture
def editor_page(page: Page, demo: str) -> Page:
    log_in(page, demo, "demo-editor")
    return page


@pytest.fixture
def second_editor(new_context: Callable[..., BrowserContext], demo: str) -> Page:
    """Another person in their own browser context (own cookies), logged in as an admin."""
    page = new_context().new_page()  # closed with the test's other contexts
    log_in(page, demo, "demo-admin")
    return page


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
