"""Won't do and the question about open steps, in Chromium: the controls swap the row in place,
and nothing is closed behind the person's back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from incidents.models import ActionItem, Incident
from tests.browser.conftest import SCREENSHOTS, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_parent_asks_about_its_open_step_and_wont_do_keeps_its_reason(
    editor_page: Page, demo: str
):
    page = editor_page
    incident = Incident.objects.get(number=1)
    parent = ActionItem.objects.create(
        incident=incident, title="Guard every deploy", horizon="long_term", order=90
    )
    ActionItem.objects.create(
        incident=incident, parent=parent, title="Write the size check", horizon="long_term"
    )
    page.goto(f"{demo}/action-items/?incident=INC-1&horizon=long_term")

    page.get_by_role("button", name="Done: Guard every deploy", exact=True).click()
    question = page.locator(f"#open-steps-{parent.pk}")
    expect(question).to_contain_text("still has 1 open step")
    expect(question).to_contain_text("Write the size check")
    screenshot(page, "action-item-open-steps")
    question.get_by_label("Why won't it be done?").fill("The build check covers it")
    question.get_by_role("button", name="Close it as won't do").click()

    row = page.locator(f"#action-item-{parent.pk}")
    expect(row.locator(".ai-status")).to_have_text("Done")
    step = ActionItem.objects.get(parent=parent)
    # The step's row, shown on the page too, changed in place with its parent's.
    step_row = page.locator(f"#action-item-{step.pk}")
    expect(step_row.locator(".ai-status")).to_have_text("Won't do")
    expect(step_row.locator(".ai-reason")).to_have_text("Won't do: The build check covers it")
    step.refresh_from_db()
    assert (step.status, step.closed_reason) == ("wont_do", "The build check covers it")


def test_on_the_incident_page_an_item_is_started_then_dropped_with_its_reason(
    editor_page: Page, demo: str
):
    page = editor_page
    incident = Incident.objects.get(number=1)
    item = ActionItem.objects.create(
        incident=incident, title="Try a second CDN", horizon="long_term", order=91
    )
    page.goto(f"{demo}/incidents/INC-1/#row-actions-{item.pk}")
    row = page.locator(f"#row-actions-{item.pk}")

    row.get_by_role("button", name="Start: Try a second CDN").click()
    row = page.locator(f"#row-actions-{item.pk}")
    expect(row).to_contain_text("in progress")
    row.get_by_text("Won't do…").click()
    row.get_by_label("Why won't “Try a second CDN” be done?").fill("One CDN has been enough")
    row.get_by_role("button", name="Won't do", exact=True).click()

    row = page.locator(f"#row-actions-{item.pk}")
    expect(row.locator(".item-reason")).to_have_text("Won't do: One CDN has been enough")
    row.scroll_into_view_if_needed()
    page.locator("#section-actions").screenshot(
        path=SCREENSHOTS / "incident-action-items-states.png"
    )
    item.refresh_from_db()
    assert (item.status, item.closed_reason) == ("wont_do", "One CDN has been enough")
