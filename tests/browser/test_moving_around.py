"""A long incident page is easy to move around: at 390 px and on a wide screen, with the
keyboard, and after in-place edits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FloatRect, Locator, Page, ViewportSize, expect

from incidents.models import Incident
from tests.browser.conftest import lazy_parts_loaded, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = ViewportSize(width=390, height=844)
WIDE = ViewportSize(width=1440, height=900)
LONG_TITLE = "Checkout" + "x" * 192  # one 200-character word


def open_incident(page: Page, base: str) -> None:
    page.goto(f"{base}/incidents/INC-1/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    lazy_parts_loaded(page)


def box(locator: Locator) -> FloatRect:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def attribute(locator: Locator, name: str) -> str:
    value = locator.get_attribute(name)
    assert value is not None, (locator, name)
    return value


def page_width(page: Page) -> tuple[int, int]:
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return scroll, client


def focused(page: Page) -> str:
    """The focused element, as `tag#id` or `tag` and its text."""
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          return e.tagName.toLowerCase() + (e.id ? "#" + e.id : " " + e.textContent.trim());
        }"""
    )


def test_a_200_character_title_wraps_and_the_page_stays_390_px_wide(
    editor_page: Page, demo: str
) -> None:
    Incident.objects.filter(number=1).update(title=LONG_TITLE)
    page = editor_page
    page.set_viewport_size(PHONE)
    open_incident(page, demo)

    assert page_width(page) == (390, 390)
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_text(LONG_TITLE)
    assert box(title)["width"] <= 390
    screenshot(page, "incident-390px")


def test_at_390_px_the_navigation_folds_into_a_menu_that_opens(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.set_viewport_size(PHONE)
    open_incident(page, demo)
    nav = page.get_by_role("navigation", name="Main")
    menu = page.locator("details.menu > summary")

    expect(nav.get_by_role("link", name="Action items")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    menu.click()
    expect(nav.get_by_role("link", name="Action items")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page_width(page) == (390, 390)
    screenshot(page, "incident-390px-menu")

    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Action items")).to_be_hidden()
    assert focused(page) == "summary Menu"

    menu.click()
    nav.get_by_role("link", name="Action items").click()
    expect(page).to_have_url(re.compile(r"/action-items/$"))


def test_on_a_wide_screen_the_navigation_is_open_and_has_no_menu_button(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)

    expect(page.locator("details.menu > summary")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Dashboard", "Incidents", "Action items", "Status page"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page_width(page) == (WIDE["width"], WIDE["width"])


def test_the_health_strip_scrolls_its_first_failure_into_view_at_390_px(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.set_viewport_size(PHONE)
    open_incident(page, demo)
    figure = page.locator(".strip-figure")
    expect(figure.locator(".cell.failed").first).to_be_attached()

    shown = box(figure)
    failed = box(figure.locator(".cell.failed").first)
    assert page.evaluate("document.querySelector('.strip-figure').scrollLeft") > 0
    assert shown["x"] <= failed["x"]
    assert failed["x"] + failed["width"] <= shown["x"] + shown["width"]
    assert page_width(page) == (390, 390)


def test_the_contents_list_every_part_with_the_rows_the_page_shows(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    toc = page.get_by_role("navigation", name="On this page")

    counted = toc.locator("a[data-rows]")
    assert counted.count() == 9
    for i in range(counted.count()):
        link = counted.nth(i)
        shown = page.locator(attribute(link, "data-rows")).count()
        expect(link.locator(".count")).to_have_text(str(shown))
    assert int(toc.locator('a[href="#section-lessons"] .count').inner_text()) > 0
    for i in range(toc.locator("a").count()):
        target = attribute(toc.locator("a").nth(i), "href")
        expect(page.locator(target)).to_be_attached()

    toc.get_by_role("link", name=re.compile("^Final notes")).click()
    expect(page).to_have_url(re.compile("#section-notes$"))
    # Sticky: still in view at the top after the jump far down the page.
    assert page.evaluate("window.scrollY") > 1000
    assert 0 <= box(toc)["y"] <= 20
    screenshot(page, "incident-wide")


def test_the_counts_follow_a_row_added_in_place(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    count = page.locator('.toc a[href="#section-lessons"] .count')
    before = int(count.inner_text())

    lessons = page.locator("#section-lessons")
    lessons.locator("ol.lessons > li").first.get_by_role("link", name=re.compile("^Edit")).click()
    expect(lessons.locator(".row-form")).to_have_count(1)
    expect(count).to_have_text(str(before))  # a row open for editing is still a row
    lessons.get_by_role("link", name="Cancel").click()
    expect(lessons.locator(".row-form")).to_have_count(0)
    expect(count).to_have_text(str(before))

    lessons.get_by_role("link", name="+ Add what went right").click()
    lessons.get_by_label("Text").fill("The rollback took one command.")
    lessons.get_by_role("button", name="Add lesson").click()

    expect(count).to_have_text(str(before + 1))

    page.on("dialog", lambda dialog: dialog.accept())
    lessons.locator("ol.lessons > li").first.get_by_role("button", name="Delete lesson").click()
    expect(count).to_have_text(str(before))


def test_row_controls_show_when_a_keyboard_reaches_them(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    row = page.locator("#section-lessons ol.lessons > li").first
    controls = row.locator(".row-controls")
    page.mouse.move(0, 0)
    expect(controls).to_have_css("opacity", "0")

    edit = row.get_by_role("link", name=re.compile("^Edit"))
    edit.focus()
    expect(edit).to_be_focused()
    expect(controls).to_have_css("opacity", "1")
    page.keyboard.press("Tab")  # on to the row's move and delete buttons
    expect(row.get_by_role("button", name="Move lesson up")).to_be_focused()
    expect(controls).to_have_css("opacity", "1")


def test_after_saving_a_row_focus_is_back_on_it(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    row = page.locator("#section-lessons ol.lessons > li").first
    row_id = attribute(row, "id")

    row.get_by_role("link", name=re.compile("^Edit")).focus()
    page.keyboard.press("Enter")
    form = page.locator(f"#{row_id.replace('row-', 'row-form-')}")
    expect(form.get_by_label("Kind")).to_be_focused()  # the form's first field
    page.keyboard.press("Tab")
    expect(form.get_by_label("Text")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Rolled back within minutes, by one command.")
    form.get_by_role("button", name="Save lesson").focus()
    page.keyboard.press("Enter")

    expect(page.locator(f"#{row_id}")).to_contain_text("by one command")
    expect(page.locator(f"#{row_id}")).to_be_focused()


def test_after_adding_a_row_focus_is_back_on_its_add_button(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    timeline = page.locator("#section-timeline")
    add = timeline.get_by_role("link", name="+ Add event")

    add.focus()
    page.keyboard.press("Enter")
    form = timeline.locator(".row-form")
    expect(form.get_by_label("Occurred at")).to_be_focused()
    form.get_by_label("Occurred at").fill("2026-01-02T06:07")
    form.get_by_label("Text").fill("Status page updated")
    form.get_by_role("button", name="Add event").press("Enter")

    expect(timeline.locator(".row-form")).to_have_count(0)
    expect(timeline.get_by_text("Status page updated")).to_be_visible()
    expect(timeline.get_by_role("link", name="+ Add event")).to_be_focused()


def test_after_moving_a_row_focus_stays_on_the_same_button(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    rows = page.locator("#section-lessons ol.lessons > li")
    second = attribute(rows.nth(1), "id")

    page.locator(f"#{second}").get_by_role("button", name="Move lesson up").press("Enter")

    expect(rows.first).to_have_attribute("id", second)
    expect(page.locator(f"#{second}").get_by_role("button", name="Move lesson up")).to_be_focused()


def test_an_error_puts_focus_on_the_field_to_fix(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    timeline = page.locator("#section-timeline")

    timeline.get_by_role("link", name="+ Add event").press("Enter")
    form = timeline.locator(".row-form")
    expect(form).to_be_visible()
    # As a browser that does not check `required` itself would send it: the server's error.
    form.locator("form").evaluate("form => { form.noValidate = true; }")
    form.get_by_label("Occurred at").fill("2026-01-02T06:07")
    form.get_by_role("button", name="Add event").press("Enter")

    expect(form.locator(".field.invalid")).to_have_count(1)
    # The field's own control; the attachment picker beside a Markdown field is no field to fix.
    expect(
        form.locator(".field.invalid").locator("input:not([type=file]), select, textarea")
    ).to_be_focused()


def test_after_deleting_a_row_focus_is_on_its_sections_add_button(
    editor_page: Page, demo: str
) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    notes = page.locator("#section-notes")
    row = notes.locator("ol > li").first
    row_id = attribute(row, "id")
    page.on("dialog", lambda dialog: dialog.accept())

    row.get_by_role("button", name="Delete note").press("Enter")

    expect(page.locator(f"#{row_id}")).to_have_count(0)
    expect(notes.locator("p.add a").first).to_be_focused()


def test_after_cancelling_an_edit_focus_is_back_on_the_row(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    row = page.locator("#section-causes ol.causes > li").first
    row_id = attribute(row, "id")

    row.get_by_role("link", name=re.compile("^Edit")).press("Enter")
    form = page.locator(f"#{row_id.replace('row-', 'row-form-')}")
    form.get_by_role("link", name="Cancel").press("Enter")

    expect(page.locator(f"#{row_id}")).to_be_focused()


def test_after_saving_a_text_focus_is_back_on_it(editor_page: Page, demo: str) -> None:
    page = editor_page
    page.set_viewport_size(WIDE)
    open_incident(page, demo)
    block = page.locator("#prose-resolution")

    block.get_by_role("link", name=re.compile("^Edit")).press("Enter")
    expect(block.locator("textarea")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Rolled back to the last build that worked.")
    block.get_by_role("button", name="Save").press("Enter")

    expect(block.locator(".prose")).to_contain_text("the last build that worked")
    expect(block).to_be_focused()
