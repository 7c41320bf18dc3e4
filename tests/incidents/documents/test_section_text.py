"""A section edited as text: rows keep their identity, the change is shown before it is
applied, a change someone else made meanwhile merges, and bad lines are named by number
(conflicts: test_text_conflicts.py)."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from django.urls import reverse

from incidents.documents.editing import textdiff
from incidents.documents.importer import parse_postmortem
from incidents.models import ActionItem
from incidents.postmortem import services
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db
HIDDEN = re.compile(r'<input type="hidden" name="(opened|previewed)" value="([^"]*)"')


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def bea():
    return user_with_role("editor", username="bea")


@pytest.fixture
def editor(client, bea):
    client.force_login(bea)
    return client


def add(row, user=None):
    return services.part_save(row=row, user=user)


@pytest.fixture
def items(incident, bea):
    first = add(
        ActionItem(
            incident=incident,
            title="Check the build output before deploying",
            horizon="today",
            priority="p1",
            owner=bea,
            due_date=date(2026, 1, 9),
        )
    )
    second = add(ActionItem(incident=incident, title="Write the rollback runbook", horizon="today"))
    step = add(
        ActionItem(
            incident=incident, title="List the rollback commands", horizon="today", parent=second
        )
    )
    services.action_item_complete(item=step, user=bea)
    return first, second, step


def url(incident, key):
    return reverse("incidents:section_text", args=[incident.reference, key])


def open_text(client, incident, key) -> tuple[str, str]:
    response = client.get(url(incident, key))
    assert response.status_code == 200
    page = response.content.decode()
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1)), dict(HIDDEN.findall(page))["opened"]


def post(client, incident, key, text, opened, *, apply=True):
    preview = client.post(url(incident, key), {"text": text, "opened": opened, "action": "preview"})
    if not apply:
        return preview
    found = dict(HIDDEN.findall(preview.content.decode()))
    return client.post(
        url(incident, key),
        {
            "text": text,
            "opened": opened,
            "previewed": found.get("previewed", ""),
            "action": "apply",
        },
    )


def test_opening_the_action_items_shows_them_in_the_export_syntax(editor, incident, items):
    text, _ = open_text(editor, incident, "actions")
    assert text == (
        "### Today\n\n"
        "- [ ] Check the build output before deploying p1 prevent @bea due:2026-01-09\n"
        "- [ ] Write the rollback runbook p2 prevent\n"
        "  - [x] List the rollback commands p2 prevent\n"
    )


def test_saving_the_text_unchanged_changes_nothing(editor, incident, items):
    text, opened = open_text(editor, incident, "actions")
    versions = [i.version for i in ActionItem.objects.order_by("pk")]
    response = post(editor, incident, "actions", text, opened, apply=False)
    assert "No changes." in response.content.decode()
    assert 'value="apply"' not in response.content.decode()
    assert [i.version for i in ActionItem.objects.order_by("pk")] == versions


def test_an_edited_title_is_a_change_of_that_row_keeping_its_id_tick_owner_and_due_date(
    editor, incident, items, bea
):
    first, second, step = items
    text, opened = open_text(editor, incident, "actions")
    text = text.replace("Check the build output before deploying", "Check the whole build output")
    text = text.replace("List the rollback commands", "List every rollback command")
    preview = post(editor, incident, "actions", text, opened, apply=False)
    page = preview.content.decode()
    assert "Changed (line 3): Check the whole build output — title" in page
    assert "Added" not in page
    assert "Removed" not in page
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build output before deploying"

    response = post(editor, incident, "actions", text, opened)
    assert response.status_code == 302
    assert ActionItem.objects.count() == 3
    first.refresh_from_db()
    step.refresh_from_db()
    assert first.title == "Check the whole build output"
    assert (first.owner, first.due_date, first.priority) == (bea, date(2026, 1, 9), "p1")
    assert step.title == "List every rollback command"
    assert step.is_done
    assert step.parent_id == second.pk
    latest = first.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.history_user == bea


def test_rows_are_added_moved_and_removed_as_the_text_says(editor, incident, items):
    first, second, _step = items
    text, opened = open_text(editor, incident, "actions")
    text = (
        "### Today\n\n"
        "- [ ] Write the rollback runbook p2 prevent\n"
        "  - [x] List the rollback commands p2 prevent\n"
        "  - [ ] Try the runbook once p3 process @bea\n"
        "- [ ] Check the build output before deploying p1 prevent @bea due:2026-01-09\n"
        "\n### Long term\n\n"
        "- [ ] Split the deploy script p3 mitigate blocks-deploys\n"
    )
    page = post(editor, incident, "actions", text, opened, apply=False).content.decode()
    assert "Added (line 5): Try the runbook once" in page
    assert "Added (line 10): Split the deploy script" in page
    assert "Moved (line 6): Check the build output before deploying" in page
    assert post(editor, incident, "actions", text, opened).status_code == 302
    today = list(ActionItem.objects.filter(parent=None, horizon="today").order_by("order"))
    assert [i.pk for i in today] == [second.pk, first.pk]
    added = ActionItem.objects.get(title="Try the runbook once")
    assert (added.parent_id, added.kind, added.priority) == (second.pk, "process", "p3")
    assert ActionItem.objects.get(title="Split the deploy script").blocks_deployments

    text, opened = open_text(editor, incident, "actions")
    text = text.replace(
        "- [ ] Check the build output before deploying p1 prevent @bea due:2026-01-09\n", ""
    )
    page = post(editor, incident, "actions", text, opened, apply=False).content.decode()
    assert "Removed: Check the build output before deploying" in page
    post(editor, incident, "actions", text, opened)
    assert not ActionItem.objects.filter(pk=first.pk).exists()


def test_ticking_in_the_text_completes_the_item_through_its_service(editor, incident, items, bea):
    first, _, _ = items
    text, opened = open_text(editor, incident, "actions")
    post(editor, incident, "actions", text.replace("- [ ] Check", "- [x] Check"), opened)
    first.refresh_from_db()
    assert first.is_done
    assert first.done_by == bea


def test_bad_lines_are_named_by_number_and_nothing_is_applied(editor, incident, items):
    text, opened = open_text(editor, incident, "actions")
    text += "- [ ] Ask the vendor p2 prevent @nobody\n- [ ] Renew the certificate due:2026-02-31\n"
    response = post(editor, incident, "actions", text, opened, apply=False)
    page = html.unescape(response.content.decode())
    assert response.status_code == 422
    assert "Line 7: 2026-02-31 is not a date; write due:YYYY-MM-DD." in page
    text = text.replace(" due:2026-02-31", "")
    response = post(editor, incident, "actions", text, opened)
    page = html.unescape(response.content.decode())
    assert response.status_code == 422
    assert "Line 6: @nobody is not a Hindsight user." in page
    assert ActionItem.objects.count() == 3
    assert "Ask the vendor" in page  # the text is kept


def test_a_change_someone_made_to_a_row_the_text_leaves_alone_merges(editor, incident, items):
    first, second, _ = items
    text, opened = open_text(editor, incident, "actions")
    theirs = ActionItem.objects.get(pk=first.pk)
    theirs.title = "Check the build output in CI"
    services.part_save(row=theirs, user=None, fields=["title"])
    post(editor, incident, "actions", text.replace("rollback runbook", "rollback guide"), opened)
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build output in CI"
    assert ActionItem.objects.get(pk=second.pk).title == "Write the rollback guide"


@pytest.mark.parametrize("key", textdiff.TEXT_SECTIONS)
def test_every_section_survives_export_then_edit_as_text_unchanged(editor, incident, key):
    seeded = {
        "timeline": "- 06:02 Deploy went out (deployment)\n  The bundle had no worker.\n- 2026-01-03 07:00 Next morning (note)\n",
        "status": "### Current status\n\n- ❌ **Checkout**: failing\n- ⚠️ **Search**: slow answers\n\n### Known Issues\n\n- **Search** (pre-existing): slow\n",
        "causes": "### Primary Cause\n\n- **Missing worker file**\n  > The bundle had no worker.\n  - **No size check**\n",
        "lessons": "### What Went Wrong\n\n- Nobody looked at the bundle\n  - not its size\n\n  > nor its files\n\n### What Went Right\n\n- The rollback took a minute\n",
        "actions": "### Immediate\n\n- [x] Roll back p1 mitigate\n- [ ] Drop the cache p3 process wont-do\n  > Won't do: It expires by itself.\n",
        "criteria": "### Before next deployment\n\n- [ ] The bundle check passes\n- [x] The runbook exists\n",
        "priorities": "### Priority 1: Fix the build (URGENT)\n\nIt drops files.\n\n**A) Use the other bundler** · estimate: 2 hours · chosen\n\n**B) Pin the old version (v4)** · no estimate\n\nWorks until the next upgrade.\n\n### Priority 2: Ship the UI fixes\n",
        "notes": "### What We Learned\n\n- Check what ships\n",
    }[key]
    text, opened = open_text(editor, incident, key)
    assert text == ""
    assert post(editor, incident, key, seeded, opened).status_code == 302
    text, opened = open_text(editor, incident, key)
    assert text == seeded
    page = post(editor, incident, key, text, opened, apply=False).content.decode()
    assert "No changes." in page
    if key == "status":  # the third state, neither healthy nor failing, is kept as such
        warned = incident.status_items.get(label="Search", kind="current")
        assert (warned.ok, warned.warning) == (None, True)


@pytest.mark.parametrize(
    "line",
    [
        "- [ ] Add the bundle check p1 detect @bea due:2026-01-09 blocks-deploys in-progress",
        # The export's layout before the compact syntax.
        "- [ ] Add the bundle check · P1 · detect · @bea · due 2026-01-09 · blocks deployments"
        " · in progress",
    ],
)
def test_the_import_reads_the_compact_syntax_and_the_old_export_layout_alike(line):
    draft = parse_postmortem(f"# Outage\n\n## Action Items\n\n### Today\n\n{line}\n")
    [item] = draft.action_items
    assert (item.title, item.priority, item.kind, item.owner) == (
        "Add the bundle check",
        "p1",
        "detect",
        "bea",
    )
    assert (item.due_date, item.blocks_deployments, item.status, item.horizon) == (
        date(2026, 1, 9),
        True,
        "in_progress",
        "today",
    )


def test_a_title_ending_in_a_kind_word_keeps_it_without_a_priority_before_it(editor, incident):
    _text, opened = open_text(editor, incident, "actions")
    post(editor, incident, "actions", "### Today\n\n- [ ] Review the deploy process\n", opened)
    item = ActionItem.objects.get()
    assert (item.title, item.kind, item.priority) == ("Review the deploy process", "prevent", "p2")


def test_a_text_opened_on_one_incident_does_not_count_on_another(editor, incident, items, bea):
    other = IncidentFactory()
    text, opened = open_text(editor, incident, "actions")
    edited = text.replace("Write the rollback runbook", "Write the runbook")

    response = post(editor, other, "actions", edited, opened, apply=False)

    assert response.status_code == 422
    assert "opened on another incident" in response.content.decode()
    assert ActionItem.objects.filter(title="Write the rollback runbook").exists()
    assert not ActionItem.objects.filter(incident=other).exists()
