"""The owner box on the action items page, in Chromium: typing the start of a name offers the
matching people, picking one saves the row in place, and without JavaScript a typed username
still saves while an unknown one is answered beside the field."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from incidents.models import ActionItem, Incident
from tests.browser.conftest import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_a_name_suggests_people_and_the_chosen_one_is_saved(editor_page: Page, demo: str):
    page = editor_page
    quinn = UserFactory(username="quinn", first_name="Quinn", last_name="Moreau")
    UserFactory(username="quill", is_active=False)
    item = ActionItem.objects.create(
        incident=Incident.objects.get(number=1), title="Own the size check", horizon="long_term"
    )
    page.goto(f"{demo}/action-items/?incident=INC-1&horizon=long_term")
    box = page.get_by_label("Owner of Own the size check")

    box.press_sequentially("qu")
    suggestions = page.locator(f"#owner-{item.pk}-people option")
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_have_attribute("value", "quinn")
    expect(suggestions.first).to_have_attribute("label", "Quinn Moreau")

    box.fill("quinn")
    with page.expect_response(lambda answer: answer.url.endswith("/assign")) as saved:
        box.press("Enter")
    assert saved.value.status == 200
    expect(page.locator(f"#owner-{item.pk}")).to_have_value("quinn")
    item.refresh_from_db()
    assert item.owner_id == quinn.pk


def test_without_javascript_a_typed_username_saves_and_an_unknown_one_is_named(browser, demo: str):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        quinn = UserFactory(username="quinn")
        item = ActionItem.objects.create(
            incident=Incident.objects.get(number=1), title="Own the size check", horizon="long_term"
        )
        log_in(page, demo, "demo-editor")
        page.goto(f"{demo}/action-items/?incident=INC-1&horizon=long_term")
        save = page.locator(f"form:has(#owner-{item.pk}) .ai-save")

        page.get_by_label("Owner of Own the size check").fill("quinm")
        save.click()
        expect(page.get_by_text("No active user has the username “quinm”.")).to_be_visible()
        expect(page.get_by_label("Owner of Own the size check")).to_have_value("quinm")
        item.refresh_from_db()
        assert item.owner is None

        page.get_by_label("Owner of Own the size check").fill("quinn")
        page.locator(f"form:has(#owner-{item.pk}) .ai-save").click()
        expect(page).to_have_url(f"{demo}/action-items/?incident=INC-1&horizon=long_term")
        item.refresh_from_db()
        assert item.owner_id == quinn.pk
    finally:
        context.close()
