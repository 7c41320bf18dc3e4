"""The promise of the web UI: a person writes a whole post-mortem from a blank incident in the
browser, and tracks its action items to done, without touching the admin."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import lazy_parts_loaded, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_row(section: Locator, link: str, fields: dict[str, str], button: str) -> None:
    """Open a section's add form in place, fill it and save; wait for the form to go away."""
    section.get_by_role("link", name=link).click()
    form = section.locator(".row-form")
    for label, value in fields.items():
        field = form.get_by_label(label, exact=True)
        tag = field.evaluate("el => el.tagName + ':' + (el.type || '')")
        if tag.startswith("SELECT"):
            field.select_option(label=value)
        elif tag.endswith(":checkbox"):
            field.check()
        else:
            field.fill(value)
    form.get_by_role("button", name=button).click()
    expect(section.locator(".row-form")).to_have_count(0)


def write_prose(page: Page, field: str, text: str) -> None:
    block = page.locator(f"#prose-{field}")
    block.get_by_role("link", name=re.compile("^Edit")).click()
    page.locator(f"#prose-{field} textarea").fill(text)
    page.locator(f"#prose-{field}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#prose-{field} textarea")).to_have_count(0)


def test_a_blank_incident_becomes_a_whole_post_mortem_and_its_items_get_done(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.goto(f"{demo}/")
    screenshot(page, "dashboard")
    page.get_by_role("link", name="Declare incident").first.click()
    page.get_by_label("Service").select_option(label="MoodMash")
    page.get_by_label("Title").fill("Checkout answered 404 after a deploy")
    page.get_by_label("Severity").select_option("sev2")
    page.get_by_label(re.compile("^Started")).fill("2026-02-10T09:00")
    page.get_by_role("button", name="Declare incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Checkout answered 404 after a deploy"
    )
    lazy_parts_loaded(page)
    reference = page.locator(".summary-box .ref").inner_text().split(" ")[0]

    # Details: the times that give the duration.
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Detected at").fill("2026-02-10T09:03")
    page.get_by_label("Mitigated at").fill("2026-02-10T09:20")
    page.get_by_label("Status line").fill("Resolved after a rollback")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator(".summary-box")).to_contain_text("Resolved after a rollback")

    write_prose(page, "impact", "Checkout was down for **everyone** for 21 minutes.")
    write_prose(page, "summary", "A deploy shipped without its worker file.")
    write_prose(page, "resolution", "Rolled back to the previous deployment.")

    add_row(
        page.locator("#section-timeline"),
        "+ Add event",
        {"Occurred at": "2026-02-10T09:00", "Kind": "Deployment", "Text": "Deploy went out."},
        "Add event",
    )
    add_row(
        page.locator("#section-timeline"),
        "+ Add event",
        {"Occurred at": "2026-02-10T09:19", "Kind": "Rollback", "Text": "Rolled back."},
        "Add event",
    )
    add_row(
        page.locator("#section-status"),
        "+ Add current status",
        {"Label": "Checkout answers 200"},
        "Add line",
    )
    causes = page.locator("#section-causes")
    add_row(causes, "+ Add primary cause", {"Title": "The build wrote no worker"}, "Add cause")
    add_row(
        causes,
        "+ Add contributing factor",
        {"Title": "No pre-deploy check"},
        "Add cause",
    )
    add_row(
        causes,
        "+ Add contributing factor",
        {"Title": "Nobody looked for the worker file", "Nested under": "No pre-deploy check"},
        "Add cause",
    )
    add_row(
        causes,
        "+ Add incorrect assumption",
        {"Title": "The build folder was complete"},
        "Add cause",
    )
    lessons = page.locator("#section-lessons")
    add_row(lessons, "+ Add what went wrong", {"Text": "Nothing checked the upload."}, "Add lesson")
    add_row(lessons, "+ Add what went right", {"Text": "The rollback was quick."}, "Add lesson")
    actions = page.locator("#section-actions")
    add_row(
        actions,
        "+ Add action item",
        {
            "Title": "Check the worker file before every deploy",
            "Horizon": "Before next deployment",
            "Blocks deployments": "on",
        },
        "Add action item",
    )
    add_row(
        actions,
        "+ Add action item",
        {
            "Title": "Write the check script",
            "Horizon": "Before next deployment",
            "Step of": "Check the worker file before every deploy",
        },
        "Add action item",
    )
    add_row(
        page.locator("#section-priorities"),
        "+ Add priority",
        {"Title": "Fix the build first"},
        "Add priority",
    )
    add_row(
        page.locator("#section-priorities"),
        "+ Add option",
        {"Label": "A", "Title": "Reinstall from scratch", "Estimate": "30 minutes"},
        "Add option",
    )
    add_row(
        page.locator("#section-criteria"),
        "+ Add criterion",
        {"Text": "The worker file is over 100 KB"},
        "Add criterion",
    )
    add_row(
        page.locator("#section-notes"),
        "+ Add what we learned",
        {"Text": "Verify before deploying."},
        "Add note",
    )
    write_prose(page, "next_step", "Fix the build, then deploy through preview.")

    page.get_by_role("link", name="Resolve…").click()
    page.get_by_label("Resolved at", exact=True).fill("2026-02-10T09:40")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".summary-box")).to_contain_text("40 minutes")
    page.get_by_role("button", name="Send for review").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".summary-box")).to_contain_text("Published")
    expect(page.locator("#section-causes")).to_contain_text("Nobody looked for the worker file")
    screenshot(page, "incident-written-in-the-browser")

    # Track the items to done on the action items page; the ticks survive a reload.
    page.goto(f"{demo}/action-items/")
    screenshot(page, "action-items")
    page.goto(f"{demo}/action-items/?incident={reference}")
    rows = page.locator("tr.ai-row")
    expect(rows).to_have_count(2)
    for title in ("Write the check script", "Check the worker file before every deploy"):
        tick = page.get_by_role("button", name=f"Done: {title}", exact=True)
        tick.click()
        expect(tick).to_have_attribute("aria-pressed", "true")
    page.goto(f"{demo}/action-items/?incident={reference}&status=all")
    for title in ("Write the check script", "Check the worker file before every deploy"):
        tick = page.get_by_role("button", name=f"Done: {title}", exact=True)
        expect(tick).to_have_attribute("aria-pressed", "true")
    page.goto(f"{demo}/incidents/{reference}/")
    expect(page.locator("#section-actions .tag.blocking")).to_have_count(0)
