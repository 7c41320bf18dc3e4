"""What the post-mortem says stays true and nothing typed is lost, tried in Chromium as a new user
would: the end of an incident, a colleague's edit of the details, an expired session, Back."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from incidents.models import Incident, Lesson
from tests.browser.conftest import lazy_parts_loaded, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def declare(page: Page, base: str, title: str) -> str:
    page.goto(f"{base}/incidents/new/")
    page.get_by_label("Service").select_option(label="MoodMash")
    page.get_by_label("Title").fill(title)
    page.get_by_label(re.compile("Started at")).fill("2026-01-02T06:02")
    page.get_by_role("button", name="Declare incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    lazy_parts_loaded(page)
    return page.url


def test_resolving_asks_for_the_end_and_the_message_states_it(editor_page: Page, demo: str):
    """The trial: an end typed into the details, then the status set to Resolved, gave
    customers "336 days"."""
    page = editor_page
    declare(page, demo, "Sign-in fails")

    box = page.locator("#summary-box")
    box.get_by_role("link", name="Edit details").click()
    box.get_by_label("Resolved at").fill("2026-01-02T06:18")
    box.get_by_role("button", name="Save details").click()
    expect(box.locator("#id_resolved_at_error")).to_contain_text("use Resolve")
    box.get_by_role("link", name="Cancel").click()

    page.get_by_role("link", name="Resolve…").click()
    page.get_by_label("Resolved at", exact=True).fill("2026-01-02T06:18")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#summary-box")).to_contain_text("16 minutes")

    page.get_by_role("button", name="Draft the email to users").click()
    draft = page.locator("li.communication").first
    expect(draft.locator(".communication-body")).to_contain_text("about 16 minutes")
    expect(draft.locator(".communication-facts")).to_contain_text("06:18 UTC")


def test_a_colleagues_change_to_other_details_is_kept(
    editor_page: Page, second_editor: Page, demo: str
):
    """The trial: A changed the severity; B, who changed only the status line, got a conflict
    on all seven fields, and saving again put the old severity back."""
    a, b = second_editor, editor_page
    for page in (a, b):
        page.goto(f"{demo}/incidents/INC-1/")
        lazy_parts_loaded(page)
        page.locator("#summary-box").get_by_role("link", name="Edit details").click()

    a.locator("#summary-box").get_by_label("Severity").select_option("sev2")
    a.locator("#summary-box").get_by_role("button", name="Save details").click()
    # Saved, not a form again (the edit form's own select lists "SEV2 · High" too).
    expect(a.locator("#summary-box.editing")).to_have_count(0)
    expect(a.locator("#summary-box")).to_contain_text("SEV2 · High")

    b.locator("#summary-box").get_by_label("Status line").fill("Rolled back, watching")
    b.locator("#summary-box").get_by_role("button", name="Save details").click()

    expect(b.locator("#summary-box")).to_contain_text("Rolled back, watching")
    expect(b.locator("#summary-box")).to_contain_text("SEV2 · High")
    assert Incident.objects.get(number=1).severity == "sev2"


def test_a_details_conflict_names_the_field_as_the_page_shows_it(
    editor_page: Page, second_editor: Page, demo: str
):
    a, b = second_editor, editor_page
    for page in (a, b):
        page.goto(f"{demo}/incidents/INC-1/")
        lazy_parts_loaded(page)
        page.locator("#summary-box").get_by_role("link", name="Edit details").click()
    a.locator("#summary-box").get_by_label("Severity").select_option("sev2")
    a.locator("#summary-box").get_by_role("button", name="Save details").click()
    # Saved, not a form again (the edit form's own select lists "SEV2 · High" too).
    expect(a.locator("#summary-box.editing")).to_have_count(0)
    expect(a.locator("#summary-box")).to_contain_text("SEV2 · High")

    b.locator("#summary-box").get_by_label("Severity").select_option("sev3")
    b.locator("#summary-box").get_by_role("button", name="Save details").click()

    conflict = b.locator("#summary-box .conflict")
    expect(conflict.locator("ul.theirs li")).to_have_text(["Severity: SEV2 · High"])
    b.locator("#summary-box").get_by_role("button", name="Save details").click()
    expect(b.locator("#summary-box")).to_contain_text("SEV3 · Medium")


def test_a_colleagues_edit_of_the_same_lesson_is_shown_beside_mine_and_never_lost(
    editor_page: Page, second_editor: Page, demo: str
):
    """The trial: two editors opened Edit on the same lesson; A saved, B saved: both got 200
    and A's text was gone."""
    a, b = second_editor, editor_page
    lesson = Lesson.objects.filter(incident__number=1).order_by("kind", "order").first()
    assert lesson is not None
    row = f"#row-lessons-{lesson.pk}"
    form = f"#row-form-lessons-{lesson.pk}"
    for page in (a, b):
        page.goto(f"{demo}/incidents/INC-1/")
        page.locator(row).get_by_role("link", name="Edit lesson").click()
        expect(page.locator(form).get_by_label("Text")).to_be_visible()

    a.locator(form).get_by_label("Text").fill("A: the old worker file went out for weeks.")
    a.locator(form).get_by_role("button", name="Save lesson").click()
    expect(a.locator(f"{row} .prose")).to_have_text("A: the old worker file went out for weeks.")

    b.locator(form).get_by_label("Text").fill("B: nobody compared the build with the last one.")
    b.locator(form).get_by_role("button", name="Save lesson").click()

    conflict = b.locator(f"{form} .conflict")
    expect(conflict).to_contain_text("Someone else saved this lesson while you were editing")
    expect(conflict).to_contain_text("A: the old worker file went out for weeks.")
    expect(b.locator(form).get_by_label("Text")).to_have_value(
        "B: nobody compared the build with the last one."
    )
    assert Lesson.objects.get(pk=lesson.pk).text == "A: the old worker file went out for weeks."
    screenshot(b, "row-conflict")

    b.locator(form).get_by_role("button", name="Save lesson").click()
    expect(b.locator(f"{row} .prose")).to_have_text(
        "B: nobody compared the build with the last one."
    )
    assert Lesson.objects.get(pk=lesson.pk).text == (
        "B: nobody compared the build with the last one."
    )


def test_text_typed_when_the_session_expired_waits_after_logging_in(editor_page: Page, demo: str):
    page = editor_page
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    page.locator("#prose-summary").get_by_role("link", name=re.compile("Edit")).click()
    page.locator("#prose-summary textarea").fill("Written while the session ran out.")
    Session.objects.all().delete()  # the session expires on the server
    # Typing on asks for a preview by itself: it says the session ran out, and stays put.
    page.locator("#prose-summary textarea").press("End")
    page.locator("#prose-summary textarea").type(" Still typing.")
    expect(page.locator("#prose-summary .preview")).to_contain_text("no preview")

    page.locator("#prose-summary").get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("what you typed is kept")
    page.get_by_label("Username").fill("demo-editor")
    page.get_by_label("Password").fill("hindsight-demo")
    page.get_by_role("button", name="Log in").click()
    box = page.locator("textarea")
    expect(box).to_have_value("Written while the session ran out. Still typing.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#prose-summary")).to_contain_text("Still typing.")


def test_back_after_adding_a_row_shows_the_row(editor_page: Page, demo: str):
    page = editor_page
    page.goto(f"{demo}/incidents/INC-1/")
    lazy_parts_loaded(page)
    lessons = page.locator("#section-lessons")
    lessons.get_by_role("link", name=re.compile(r"\+ Add")).first.click()
    lessons.get_by_label("Text").fill("Check the build output before shipping it")
    lessons.get_by_role("button", name=re.compile("Add")).click()
    expect(lessons.get_by_text("Check the build output before shipping it")).to_be_visible()

    page.get_by_role("link", name="Action items", exact=True).click()
    expect(page).to_have_url(re.compile("/action-items/"))
    page.go_back()

    expect(
        page.locator("#section-lessons").get_by_text("Check the build output before shipping it")
    ).to_be_visible()


def test_back_then_declaring_again_opens_the_first_incident(editor_page: Page, demo: str):
    page = editor_page
    first = declare(page, demo, "Checkout returns 500")
    page.go_back()
    page.get_by_label("Service").select_option(label="MoodMash")
    page.get_by_label("Title").fill("Checkout returns 500")
    page.get_by_label(re.compile("Started at")).fill("2026-01-02T06:02")
    page.get_by_role("button", name="Declare incident").click()

    expect(page).to_have_url(first)
    assert Incident.objects.filter(title="Checkout returns 500").count() == 1


def test_logging_in_again_is_the_only_way_back_in(page: Page, demo: str):
    """The login page the expired session leads to is the real one: a wrong password fails."""
    log_in(page, demo, "demo-viewer")
    Session.objects.all().delete()
    page.goto(f"{demo}/incidents/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
