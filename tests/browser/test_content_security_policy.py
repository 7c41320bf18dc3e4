"""Every main page works under the Content-Security-Policy: Chromium reports no violation.

A violation is both an event in the page (securitypolicyviolation) and a console error; the test
collects both, so a page that quietly lost a script or a style to the policy fails here.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect

from deployments.models import Environment
from tests.browser.conftest import lazy_parts_loaded, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def watched(page: Page) -> tuple[Page, list[str]]:
    """The page, and every CSP violation it reported on any document it showed."""
    found: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", console)
    return page, found


def settle(page: Page, found: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    found.extend(f"{page.url}: {v}" for v in page.evaluate("window.__cspViolations || []"))


def test_the_main_pages_load_without_any_csp_violation(
    watched: tuple[Page, list[str]], demo: str
) -> None:
    page, found = watched
    page.goto(f"{demo}/login/")
    settle(page, found)
    log_in(page, demo, "demo-admin")

    nav = page.get_by_role("navigation", name="Main").get_by_role("link")
    links = [nav.nth(i).get_attribute("href") or "" for i in range(nav.count())]
    assert len(links) >= 8
    for href in links:
        page.goto(f"{demo}{href}")
        settle(page, found)

    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("MoodMash")
    # lazy_parts_loaded waited for htmx to swap in "Deployments and health": htmx ran here.
    settle(page, found)

    # Forms and settings pages off the menu.
    for name in ("incidents:webhook_create", "service_accounts", "preferences"):
        page.goto(f"{demo}{reverse(name)}")
        settle(page, found)

    # Every service's environment page and its deployment gate.
    for environment in Environment.objects.select_related("service"):
        for name in ("deployments:environment", "deployments:environment_gate"):
            kwargs = {"service": environment.service.slug, "environment": environment.name}
            page.goto(f"{demo}{reverse(name, kwargs=kwargs)}")
            settle(page, found)

    page.goto(f"{demo}/status/")
    settle(page, found)
    page.goto(f"{demo}/status/history/")
    settle(page, found)

    assert found == []


def test_the_token_copy_button_works_without_an_inline_handler(
    watched: tuple[Page, list[str]], demo: str
) -> None:
    page, found = watched
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, demo, "demo-editor")
    page.goto(f"{demo}/settings/tokens/")
    page.get_by_label("Name").fill("Laptop")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    settle(page, found)
    assert found == []


def test_the_api_docs_and_the_admin_work_under_the_policy(
    watched: tuple[Page, list[str]], demo: str
) -> None:
    page, found = watched
    log_in(page, demo, "demo-admin")

    page.goto(f"{demo}/api/docs/")
    expect(page.get_by_role("heading", name="Hindsight API")).to_be_visible(timeout=15_000)
    expect(page.locator(".opblock").first).to_be_visible()
    settle(page, found)

    page.goto(f"{demo}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    settle(page, found)
    page.goto(f"{demo}/admin/incidents/incident/")
    expect(page.get_by_role("link", name="INC-1").first).to_be_visible()
    settle(page, found)
    page.goto(f"{demo}/admin/incidents/incident/add/")
    expect(page.locator("#incident_form")).to_be_visible()
    settle(page, found)

    assert found == []
