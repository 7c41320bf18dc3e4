"""The metrics page in Chromium, over the demo's years of history: every chart drawn, no CSP
violation, the tables, a filter and a CSV download work; screenshot for the record."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import ConsoleMessage, Page, expect

from incidents.insights.metrics.selectors import CHARTS
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history(live_server) -> str:
    call_command("load_demo", "--history", stdout=io.StringIO())
    return live_server.url


def test_the_metrics_page_draws_the_demo_history_without_any_csp_violation(
    page: Page, history: str
) -> None:
    found: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", console)
    log_in(page, history, "demo-viewer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Metrics")

    # The demo's history gives every chart something to draw.
    expect(page.locator("svg.chart")).to_have_count(len(CHARTS))
    expect(page.get_by_text("Nothing to count in this range.")).to_have_count(0)
    expect(page.get_by_role("img", name="Incidents per month by severity")).to_be_visible()
    screenshot(page, "metrics")

    chart = page.locator("#chart-change-failure-rate")
    chart.get_by_text("Figures as a table").click()
    expect(chart.get_by_role("columnheader", name="Named as a cause")).to_be_visible()

    with page.expect_download() as download:
        chart.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "hindsight-change-failure-rate.csv"

    page.get_by_label("Service", exact=True).select_option(label="Ledger")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status")).to_contain_text("Ledger")
    expect(page.locator("svg.chart").first).to_be_visible()

    page.get_by_label("From", exact=True).fill("2026-02-01")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#id_date_to_error")).to_have_text("This date is before the “from” date.")
    expect(page.locator("svg.chart")).to_have_count(0)

    settle(page, found)
    assert found == []
