"""Attachments in Chromium: a screenshot pasted into a text, a file dropped onto a timeline
event, and a file over the limit refused beside the field."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import Page, expect

from incidents.models import Attachment
from tests.browser.conftest import lazy_parts_loaded, log_in
from tests.incidents.test_attachments import PNG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Builds a File in the page from base64 bytes and hands it to an element as a paste or a drop,
# as the browser does when a person pastes a screenshot or drags a file from their desktop.
GIVE_FILE = """
([selector, how, name, data, text]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  if (text) transfer.setData("text/plain", text);
  const target = document.querySelector(selector);
  const event = how === "paste"
    ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
    : new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
  // false when the page took the event over (preventDefault), true when the browser goes on
  return target.dispatchEvent(event);
}
"""
PNG_B64 = base64.b64encode(PNG).decode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def open_demo_incident(page: Page, base: str) -> None:
    page.goto(f"{base}/incidents/INC-1/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("MoodMash")
    lazy_parts_loaded(page)


def test_a_pasted_screenshot_goes_in_at_the_cursor_and_shows_once_saved(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    page.locator("#prose-resolution").get_by_role("link", name=re.compile("Edit")).click()
    box = page.locator("#prose-resolution textarea")
    box.fill("Rolled back.\nAfter the graph.")
    # The cursor at the end of the first line: the image goes in on a line of its own between
    # the two.
    box.evaluate("(el) => el.setSelectionRange(12, 12)")

    page.evaluate(GIVE_FILE, ["#prose-resolution textarea", "paste", "p99 graph.png", PNG_B64, ""])

    expect(box).to_have_value(
        re.compile(
            r"^Rolled back\.\n!\[p99 graph\.png\]\(/attachments/\d+/p99%20graph\.png\)\nAfter the graph\.$"
        )
    )
    page.locator("#prose-resolution").get_by_role("button", name="Save").click()
    image = page.locator("#prose-resolution .prose img")
    expect(image).to_have_attribute("src", re.compile(r"^/attachments/\d+/p99%20graph\.png$"))
    # Fetched through the login check, and really an image: the browser decoded it.
    page.wait_for_function(
        "() => document.querySelector('#prose-resolution .prose img').naturalWidth === 1"
    )


def test_a_file_dropped_onto_an_event_is_added_to_it(editor_page: Page, demo: str) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    timeline = page.locator("#section-timeline")
    timeline.get_by_role("link", name="+ Add event").click()
    form = timeline.locator(".row-form")
    form.get_by_label("Occurred at").fill("2026-01-02T06:07")
    form.get_by_label("Text").fill("Error rate at its peak")
    form.get_by_role("button", name="Add event").click()
    event = timeline.locator("li.event", has_text="Error rate at its peak")
    expect(event).to_have_count(1)
    event_id = event.get_attribute("id")

    page.evaluate(GIVE_FILE, [f"#{event_id} .prose", "drop", "errors.png", PNG_B64, ""])

    image = page.locator(f"#{event_id} .prose img")
    expect(image).to_have_attribute("src", re.compile(r"^/attachments/\d+/errors\.png$"))
    expect(page.locator(f"#{event_id}")).to_contain_text("Error rate at its peak")


def test_a_file_over_the_limit_is_refused_beside_the_field(
    editor_page: Page, demo: str, settings
) -> None:
    settings.HINDSIGHT_ATTACHMENT_MAX_MB = 1
    page = editor_page
    open_demo_incident(page, demo)
    page.locator("#prose-summary").get_by_role("link", name=re.compile("Edit")).click()
    box = page.locator("#prose-summary textarea")
    before = box.input_value()

    page.locator("#prose-summary").get_by_label("Attach a file").set_input_files(
        {"name": "huge.log", "mimeType": "text/plain", "buffer": b"x" * (2 * 1024 * 1024)}
    )

    expect(page.locator("#prose-summary .attach-status")).to_have_text(
        "This file is larger than 1 MB, the limit for attachments."
    )
    expect(page.locator("#prose-summary .attach-status")).to_have_attribute("role", "alert")
    assert box.input_value() == before


def test_a_viewer_gets_no_way_to_attach(page: Page, demo: str) -> None:
    log_in(page, demo, "demo-viewer")
    open_demo_incident(page, demo)
    expect(page.locator("article.postmortem")).not_to_have_attribute(
        "data-attach-url", re.compile(".")
    )
    expect(page.get_by_label("Attach a file")).to_have_count(0)


def test_a_paste_that_carries_text_pastes_the_text_and_uploads_nothing(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    page.locator("#prose-summary").get_by_role("link", name=re.compile("Edit")).click()
    expect(page.locator("#prose-summary textarea")).to_be_visible()
    # A spreadsheet's copy: its cells as text, and a picture of them.
    went_on = page.evaluate(
        GIVE_FILE, ["#prose-summary textarea", "paste", "cells.png", PNG_B64, "06:02\t503"]
    )
    assert went_on is True
    assert not Attachment.objects.exists()


def test_a_file_dropped_beside_a_text_box_does_not_replace_the_page(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    open_demo_incident(page, demo)
    page.locator("#prose-summary").get_by_role("link", name=re.compile("Edit")).click()
    page.locator("#prose-summary textarea").fill("Half-written summary")

    went_on = page.evaluate(GIVE_FILE, ["#prose-summary h2", "drop", "shot.png", PNG_B64, ""])

    assert went_on is False
    expect(page.locator("#prose-summary textarea")).to_have_value("Half-written summary")
    assert not Attachment.objects.exists()
