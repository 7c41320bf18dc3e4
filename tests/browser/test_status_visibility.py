"""Whether an incident is on the public status page, switched from its own page in Chromium: it
says what the public would read before anything goes public, and the status page follows."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from deployments.models import Service
from incidents.models import Incident
from incidents.postmortem.services import incident_create
from tests.browser.conftest import SCREENSHOTS, lazy_parts_loaded, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_cache"),
]


def test_an_editor_makes_an_incident_public_then_internal_again(editor_page: Page, demo: str):
    page = editor_page
    incident = incident_create(
        service=Service.objects.get(slug="moodmash"),
        title="Sign-in loops back to the login page",
        started_at=timezone.now(),
        status_line="Some people cannot sign in",
    )
    page.goto(f"{demo}/incidents/{incident.reference}/")
    lazy_parts_loaded(page)
    box = page.locator("#visibility")
    expect(box).to_contain_text("Internal: not on the status page")
    expect(box.locator(".public-heading")).to_have_text("Disruption to MoodMash")
    expect(box).to_contain_text("Some people cannot sign in")
    expect(box).not_to_contain_text("Sign-in loops")  # the team's own title stays inside

    # Nothing goes public until the second step, which says what will.
    box.get_by_text("Make public…").click()
    confirm = box.get_by_role("button", name="Put it on the status page")
    expect(confirm).to_be_visible()
    expect(box).to_contain_text("Nobody is emailed")
    assert Incident.objects.get(pk=incident.pk).public_since is None
    box.screenshot(path=SCREENSHOTS / "incident-visibility-confirm.png")
    confirm.click()

    box = page.locator("#visibility")
    expect(box).to_contain_text("Public since")
    expect(box).to_contain_text("by demo-editor")
    page.goto(f"{demo}/status/")
    expect(page.get_by_role("heading", name="Disruption to MoodMash")).to_be_visible()
    expect(page.get_by_text("Some people cannot sign in")).to_be_visible()

    page.goto(f"{demo}/incidents/{incident.reference}/")
    lazy_parts_loaded(page)
    box = page.locator("#visibility")
    box.get_by_text("Make internal…").click()
    box.get_by_role("button", name="Take it off the status page").click()
    expect(page.locator("#visibility")).to_contain_text("Internal: not on the status page")
    page.goto(f"{demo}/status/")
    expect(page.get_by_role("heading", name="Disruption to MoodMash")).to_have_count(0)


def test_a_viewer_reads_the_visibility_without_a_switch(page: Page, demo: str):
    log_in(page, demo, "demo-viewer")
    page.goto(f"{demo}/incidents/INC-1/")
    box = page.locator("#visibility")
    expect(box).to_contain_text("Public since")
    expect(box.locator(".public-heading")).to_have_text("moodmash.win is not loading")
    expect(box.get_by_text("Make internal…")).to_have_count(0)
    box.screenshot(path=SCREENSHOTS / "incident-visibility-public.png")
