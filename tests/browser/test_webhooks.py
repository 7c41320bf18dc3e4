"""The admins' webhook page in Chromium: reached from the navigation, an endpoint added with
its events chosen by subject, the secret shown once, and a test ping queued."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from incidents.models import WebhookDelivery, WebhookEndpoint
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_an_endpoint_for_some_events_and_pings_it(page: Page, demo: str):
    log_in(page, demo, "demo-admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="New endpoint").click()

    page.get_by_label("Name").fill("Pager")
    page.get_by_label("URL").fill("https://pager.example.com/hooks/hindsight")
    # Every event is ticked for a new endpoint; this one wants no deployment news.
    page.get_by_label("Deployment recorded (deployment.recorded)").uncheck()
    page.get_by_label("Deployment finished (deployment.finished)").uncheck()
    expect(
        page.get_by_label("Communication sent, the original payload (communication.sent)")
    ).not_to_be_checked()
    screenshot(page, "webhook-new")
    page.get_by_role("button", name="Save").click()

    endpoint = WebhookEndpoint.objects.get()
    expect(page.locator("#webhook-secret")).to_have_text(endpoint.secret)
    assert "deployment.recorded" not in endpoint.events
    assert "incident.declared" in endpoint.events

    page.get_by_role("link", name="To the endpoint").click()
    expect(page.locator("body")).not_to_contain_text(endpoint.secret)
    expect(page.get_by_role("heading", name="Pager")).to_be_visible()
    page.get_by_role("button", name="Send a test ping").click()
    expect(page.get_by_role("status")).to_contain_text("Test ping queued")
    expect(page.locator("[data-delivery]")).to_have_count(1)
    assert WebhookDelivery.objects.get().kind == "ping"
    screenshot(page, "webhook-endpoint")
