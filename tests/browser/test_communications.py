"""The communications workflow in Chromium: one click drafts the user email from the demo
incident, the editor edits it with a live preview, approves it and sends it, all in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from incidents.models import Communication
from outbox.models import OutboxMessage
from tests.browser.conftest import SCREENSHOTS, lazy_parts_loaded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_generate_edit_approve_and_send_the_user_email(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    section = page.locator("#section-communications")
    marker = page.evaluate("window.__marker = 'same page'; window.__marker")

    section.get_by_role("button", name="Draft the email to users").click()
    draft = section.locator("li.communication.draft").first
    expect(draft.locator(".communication-subject")).to_have_text(
        "MoodMash: the service interruption is resolved"
    )
    expect(draft.locator(".communication-body")).to_contain_text("about 16 minutes")

    draft.get_by_role("link", name="Edit").click()
    form = section.locator(".communication.editing")
    form.get_by_label("Body").fill("We are **back**, for good.\n\nThe MoodMash team")
    expect(form.locator(".preview strong")).to_have_text("back")
    form.get_by_role("button", name="Save draft").click()
    expect(section.locator(".communication.editing")).to_have_count(0)
    sent_one = section.locator("li.communication").first
    expect(sent_one.locator(".communication-body strong")).to_have_text("back")

    sent_one.get_by_role("button", name="Approve").click()
    expect(sent_one.locator(".state")).to_have_text("Approved")
    page.once("dialog", lambda dialog: dialog.accept())
    sent_one.get_by_role("button", name="Send to subscribers").click()
    expect(sent_one.locator(".state")).to_have_text("Sent or published")
    expect(sent_one.get_by_role("link", name="Edit")).to_have_count(0)
    expect(sent_one.get_by_role("button", name="Write a correction")).to_be_visible()
    assert page.evaluate("window.__marker") == marker  # every step happened in place
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=SCREENSHOTS / "communications-sent.png")

    email = Communication.objects.get(audience="user_email")
    assert email.status == Communication.Status.SENT
    assert email.body_html.startswith("<p>We are <strong>back</strong>, for good.")
    assert OutboxMessage.objects.filter(kwargs={"communication_id": email.pk}).exists()
    page.reload()
    expect(page.locator("#section-timeline")).to_contain_text("Email to users sent to subscribers")
