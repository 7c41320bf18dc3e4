"""Writing a whole post-mortem from a blank incident with "Edit as text", one text area per
section, in a handful of interactions; and what it stores is what importing the same document
makes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import models
from playwright.sync_api import Locator, Page, expect

from incidents.documents.services import postmortem_import
from incidents.models import Incident
from tests.browser.conftest import lazy_parts_loaded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The demo's outage in the shape of the post-mortem that started the project, in our own
# words: per section, what a person types into its text area.
SECTIONS = {
    "timeline": (
        "- 12:00 The release went out through the pages deploy (deployment)\n"
        "- 12:02 The home page answered with a blank screen (trigger)\n"
        "- 12:05 A friend said the app would not load (detected)\n"
        "- 12:12 We rolled back to the last good deployment (rollback)\n"
        "- 12:16 Pages load again for everyone (resolved)\n"
    ),
    "status": (
        "### Current status\n\n"
        "- ✅ **Home page**: loads in under a second\n"
        "- ✅ **Sign in**: works\n\n"
        "### What's Working\n\n"
        "- **Mood entries**: saved and listed\n"
        "- **Weekly chart**: drawn from the saved entries\n\n"
        "### Known Issues\n\n"
        "- **Slow first load on phones** (pre-existing): about three seconds\n"
    ),
    "causes": (
        "### Primary Cause\n\n"
        "- **The build left out the compiled worker file**\n"
        "  > The bundle step skipped it when its import path changed.\n\n"
        "### Contributing Factors\n\n"
        "- **Nothing checked the bundle before the deploy**\n"
        "  - **No size check on the output folder**\n"
        "  - **No preview deploy first**\n"
        "- **The rollback ID was not written down**\n"
    ),
    "lessons": (
        "### What Went Wrong\n\n"
        "- We deployed straight to production\n"
        "- Nobody looked inside the build folder\n\n"
        "### What Went Right\n\n"
        "- The rollback took four minutes once we found the last good ID\n"
    ),
    "actions": (
        "### Immediate\n\n"
        "- [x] Roll back to the last good deployment p1 mitigate @demo-editor\n\n"
        "### Today\n\n"
        "- [ ] Add a check that the worker file is in the bundle p1 prevent @demo-editor "
        "due:2026-02-11 blocks-deploys\n"
        "  > Fail the deploy when the file is missing or tiny.\n"
        "  - [ ] Write the check script p1 prevent\n"
        "  - [ ] Call it from the deploy command p2 prevent\n"
        "- [ ] Write the last good deployment ID into the runbook p2 process\n\n"
        "### This week\n\n"
        "- [ ] Deploy to a preview first, every time p2 process\n"
        "- [ ] Alert when the home page goes blank p2 detect\n"
    ),
    "criteria": (
        "### Before next deployment\n\n"
        "- [ ] The bundle check fails a build without the worker file\n"
        "- [ ] A preview deploy is tested before production\n\n"
        "### Long term\n\n"
        "- [ ] No outage from a missing build file for a quarter\n"
    ),
    "priorities": (
        "### Priority 1: Fix the build so it keeps the worker file (URGENT)\n\n"
        "The current bundler drops it; pick a way that cannot.\n\n"
        "**A) Switch the bundle step to the platform's own build** · estimate: 2 hours · chosen\n\n"
        "**B) Pin the bundler to the last version that kept it** · estimate: 1 hour\n\n"
        "### Priority 2: Ship the small UI fixes after the build is fixed\n"
    ),
    "notes": (
        "### What We Accomplished\n\n"
        "- Service back within sixteen minutes\n\n"
        "### What We Learned\n\n"
        "- A deploy that nobody tested first is a gamble\n\n"
        "### Moving Forward\n\n"
        "- Every deploy goes through preview and the bundle check\n"
    ),
}
# The export's own section titles.
TITLES = {
    "timeline": "Timeline",
    "status": "Current Status",
    "causes": "Root Cause Analysis",
    "lessons": "Lessons Learned",
    "actions": "Action Items",
    "priorities": "Path Forward",
    "criteria": "Success Criteria",
    "notes": "Final Notes",
}
TITLE = "Blank home page after a deploy without its worker file"
# Words each section's text puts on the page, to see it arrive on a colleague's page.
_FIRST_WORDS = {
    "timeline": "The release went out through the pages deploy",
    "status": "Home page",
    "causes": "The build left out the compiled worker file",
    "lessons": "We deployed straight to production",
    "actions": "Roll back to the last good deployment",
    "criteria": "The bundle check fails a build without the worker file",
    "priorities": "Fix the build so it keeps the worker file",
    "notes": "Service back within sixteen minutes",
}


def document() -> str:
    parts = [
        f"# {TITLE}",
        "",
        "**Service:** MoodMash  ",
        "**Incident Date:** 2026-02-10 12:00 - 12:16 UTC",
        "",
    ]
    for key, title in TITLES.items():
        parts += [f"## {title}", "", SECTIONS[key]]
    return "\n".join(parts)


class Counter:
    """Counts what a person does: clicks and fields filled."""

    def __init__(self) -> None:
        self.count = 0

    def click(self, target: Locator) -> None:
        self.count += 1
        target.click()

    def fill(self, target: Locator, value: str) -> None:
        self.count += 1
        target.fill(value)

    def select(self, target: Locator, label: str) -> None:
        self.count += 1
        target.select_option(label=label)


_SKIPPED = {
    "id",
    "incident",
    "version",
    "order",
    "created_at",
    "updated_at",
    "done_at",
    "done_by",
    "created_by",
    "parent",
    "priority",
}


def rows_of(incident: Incident) -> dict[str, list[Any]]:
    """Every list section's rows, each as its fields' values, in order; parents by title."""

    def values(row: models.Model) -> tuple[Any, ...]:
        kept = [
            (f.name, getattr(row, f.attname))
            for f in row._meta.concrete_fields
            if f.name not in _SKIPPED and not f.name.endswith("_html")
        ]
        if getattr(row, "parent_id", None):
            kept.append(("parent", row.parent.title))  # type: ignore[attr-defined]
        if row._meta.model_name == "solutionoption":
            kept.append(("priority_title", row.priority.title))  # type: ignore[attr-defined]
            kept.append(("priority", ""))
        elif row._meta.model_name == "actionitem":
            kept.append(("priority", row.priority))  # type: ignore[attr-defined]
        return tuple(sorted(kept))

    return {
        "timeline": [
            values(e)
            for e in incident.timeline_events.filter(source="manual").order_by("occurred_at")
        ],
        "status": [values(r) for r in incident.status_items.order_by("kind", "order")],
        "causes": [values(r) for r in incident.causes.order_by("kind", "parent_id", "order")],
        "lessons": [values(r) for r in incident.lessons.order_by("kind", "order")],
        "actions": [
            values(r) for r in incident.action_items.order_by("horizon", "parent_id", "order")
        ],
        "criteria": [values(r) for r in incident.success_criteria.order_by("group", "order")],
        "priorities": [values(r) for r in incident.priorities.order_by("order")],
        "options": [
            values(o)
            for p in incident.priorities.order_by("order")
            for o in p.options.order_by("order")
        ],
        "notes": [values(r) for r in incident.final_notes.order_by("kind", "order")],
    }


# Others' changes show within one poll (2 s by default); five seconds is the promise.
WITHIN_FIVE_SECONDS = 5_000


def test_a_whole_post_mortem_is_written_section_by_section_as_text_in_at_most_30_interactions(
    editor_page: Page, second_editor: Page, demo: str
) -> None:
    page, colleague = editor_page, second_editor
    you = Counter()
    page.goto(f"{demo}/")
    you.click(page.get_by_role("link", name="Declare incident").first)
    you.select(page.get_by_label("Service"), "MoodMash")
    you.fill(page.get_by_label("Title"), TITLE)
    you.fill(page.get_by_label(re.compile("^Started")), "2026-02-10T12:00")
    you.click(page.get_by_role("button", name="Declare incident"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    reference = page.locator(".summary-box .ref").inner_text().split(" ")[0]
    # A colleague has the incident open meanwhile, and never reloads it (a reload would lose
    # the mark set here).
    colleague.goto(f"{demo}/incidents/{reference}/")
    lazy_parts_loaded(colleague)
    colleague.evaluate("window.__samePage = true")

    for key, text in SECTIONS.items():
        lazy_parts_loaded(page)
        you.click(page.locator(f"#section-{key}").get_by_role("link", name="Edit as text"))
        you.fill(page.locator("textarea[name=text]"), text)
        # The change shows as it is typed; Apply applies exactly what it shows.
        expect(page.locator("#text-changes")).to_contain_text("Added")
        you.click(page.get_by_role("button", name="Apply"))
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        # The section just written appears on the colleague's page without a reload.
        expect(colleague.locator(f"#section-{key}")).to_contain_text(
            _FIRST_WORDS[key], timeout=WITHIN_FIVE_SECONDS
        )
    assert colleague.evaluate("window.__samePage") is True

    assert you.count <= 30, you.count
    written = Incident.objects.by_reference(reference)
    # The same service and start as the incident just written: imported anyway, to compare.
    imported = postmortem_import(
        data=document(), user=None, service_slug=written.service.slug, force=True
    )
    assert imported.report.unrecognized == []
    mine, theirs = rows_of(written), rows_of(imported.incident)
    for key in mine:
        assert mine[key] == theirs[key], key
    assert sum(len(rows) for rows in mine.values()) == 35
