"""A section's text applied over a colleague's change, in a browser: what merges is written,
the row they changed too waits beside theirs, and one click puts mine on top."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import Page, expect

from incidents.models import Lesson
from incidents.postmortem import services
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_applying_a_text_over_a_colleagues_change_merges_and_holds_their_row_for_a_choice(
    editor_page: Page, demo: str
):
    page = editor_page
    first, second = Lesson.objects.order_by("incident_id", "order", "id")[:2]
    assert first.incident_id == second.incident_id
    url = reverse("incidents:section_text", args=[first.incident.reference, "lessons"])
    page.goto(f"{demo}{url}")
    area = page.locator("textarea[name=text]")
    text = area.input_value()
    assert first.text in text
    assert second.text in text

    # A colleague rewords the first lesson while the text is open.
    theirs = Lesson.objects.get(pk=first.pk)
    theirs.text = "Their wording of the first lesson"
    services.part_save(
        row=theirs, user=get_user_model().objects.get(username="demo-admin"), fields=["text"]
    )

    mine = text.replace(first.text, "My wording of the first lesson", 1)
    mine = mine.replace(second.text, "My wording of the second lesson", 1)
    area.fill(mine)
    page.get_by_role("button", name="Preview changes").click()
    page.get_by_role("button", name="Apply", exact=True).click()

    held = page.locator("#text-held")
    expect(held).to_contain_text(
        "1 change applied; 1 row changed by demo-admin since you opened it: "
        "choose yours or keep theirs"
    )
    expect(held).to_contain_text("My wording of the first lesson")
    expect(held).to_contain_text("Their wording of the first lesson")
    expect(area).to_have_value(mine)
    assert Lesson.objects.get(pk=second.pk).text == "My wording of the second lesson"
    assert Lesson.objects.get(pk=first.pk).text == "Their wording of the first lesson"
    screenshot(page, "text-held-row")

    held.get_by_role("button", name="Apply mine").click()
    expect(page).to_have_url(
        f"{demo}{reverse('incidents:detail', args=[first.incident.reference])}"
    )
    assert Lesson.objects.get(pk=first.pk).text == "My wording of the first lesson"
