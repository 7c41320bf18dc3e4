"""A text (a section, the whole document, a paste) that meets a row someone else changed since it
was opened: every other change is written, the conflicting row is held back and shown beside
theirs, and its author then applies theirs or keeps theirs, one row at a time."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.documents.editing import textdiff
from incidents.documents.editing.services import section_text_apply
from incidents.models import ActionItem, Cause, Incident, Lesson
from incidents.postmortem import services
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db
HIDDEN = re.compile(r'<input type="hidden" name="(opened|previewed|pending)" value="([^"]*)"')
TEXTAREA = re.compile(r"<textarea[^>]*>(.*?)</textarea>", re.S)


@pytest.fixture
def incident():
    return IncidentFactory(title="Checkout down after a deploy", summary="A deploy broke it.")


@pytest.fixture
def dan():
    return user_with_role("editor", username="dan")


@pytest.fixture
def bea(client):
    user = user_with_role("editor", username="bea")
    client.force_login(user)
    return user


@pytest.fixture
def items(incident):
    first = services.part_save(
        row=ActionItem(
            incident=incident,
            title="Check the build output before deploying",
            horizon="today",
            due_date=date(2026, 1, 9),
        ),
        user=None,
    )
    second = services.part_save(
        row=ActionItem(incident=incident, title="Write the rollback runbook", horizon="today"),
        user=None,
    )
    return first, second


@pytest.fixture
def rows(incident):
    cause = services.part_save(
        row=Cause(incident=incident, kind="primary", title="The worker file was missing"), user=None
    )
    lesson = services.part_save(
        row=Lesson(incident=incident, kind="went_wrong", text="Nobody looked at the bundle"),
        user=None,
    )
    return cause, lesson


def section_url(incident):
    return reverse("incidents:section_text", args=[incident.reference, "actions"])


def document_url(incident, name="document_edit"):
    return reverse(f"incidents:{name}", args=[incident.reference])


def text_in(page: str) -> str:
    found = TEXTAREA.search(page)
    assert found is not None
    return html.unescape(found.group(1))


def opened_at(client, url) -> tuple[str, str]:
    page = client.get(url).content.decode()
    return text_in(page), dict(HIDDEN.findall(page))["opened"]


def apply(client, url, text, opened):
    preview = client.post(url, {"text": text, "opened": opened, "action": "preview"})
    found = dict(HIDDEN.findall(preview.content.decode()))
    return client.post(
        url,
        {"text": text, "opened": opened, "previewed": found["previewed"], "action": "apply"},
    )


def choose(client, url, held_page, choice: str):
    page = held_page.content.decode()
    found = dict(HIDDEN.findall(page))
    text = text_in(page)
    return client.post(
        url,
        {"text": text, "opened": found["opened"], "pending": found["pending"], "resolve": choice},
    )


def retitle(model, pk, title, user):
    theirs = model.objects.get(pk=pk)
    theirs.title = title
    return services.part_save(row=theirs, user=user, fields=["title"])


def text_of(response) -> str:
    return text_in(response.content.decode())


@pytest.fixture
def held(client, bea, dan, incident, items):
    """Bea's text changes both items and adds one; Dan retitled the first meanwhile."""
    first, _second = items
    text, opened = opened_at(client, section_url(incident))
    retitle(ActionItem, first.pk, "Check the build output in CI", dan)
    mine = text.replace("Check the build output before deploying", "Check the build by hand")
    mine = mine.replace("Write the rollback runbook", "Write the rollback guide")
    mine += "- [ ] Try the runbook once p3 process\n"
    return apply(client, section_url(incident), mine, opened), mine


def test_apply_writes_every_change_that_does_not_conflict_and_shows_the_held_row_beside_theirs(
    held, items, bea
):
    response, mine = held
    first, second = items
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert (
        "2 changes applied; 1 row changed by dan since you opened it: choose yours or keep theirs"
        in page
    )
    second.refresh_from_db()
    assert second.title == "Write the rollback guide"
    latest = second.history.order_by("-history_id").first()
    assert (latest.history_type, latest.history_user) == ("~", bea)
    assert ActionItem.objects.filter(title="Try the runbook once").exists()
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build output in CI"
    held_row = page[page.index('id="text-held"') : page.index("</ul>", page.index("held-rows"))]
    assert "Check the build by hand" in held_row
    assert "Check the build output in CI" in held_row
    assert text_of(response) == mine  # nothing typed is lost
    assert 'value="mine:0"' in page
    assert 'value="theirs:0"' in page


def test_apply_mine_puts_the_held_row_on_top_of_theirs(client, held, items, incident, bea):
    response, _ = held
    first, _ = items
    resolved = choose(client, section_url(incident), response, "mine:0")
    assert resolved.status_code == 302
    first.refresh_from_db()
    assert first.title == "Check the build by hand"
    assert first.due_date == date(2026, 1, 9)
    latest = first.history.order_by("-history_id").first()
    assert (latest.history_type, latest.history_user) == ("~", bea)
    assert ActionItem.objects.filter(title="Try the runbook once").count() == 1


def test_keep_theirs_leaves_the_held_row_as_they_left_it(client, held, items, incident):
    response, _ = held
    first, _ = items
    version = ActionItem.objects.get(pk=first.pk).version
    resolved = choose(client, section_url(incident), response, "theirs:0")
    assert resolved.status_code == 302
    first.refresh_from_db()
    assert (first.title, first.version) == ("Check the build output in CI", version)


def test_a_held_row_changed_again_before_apply_mine_is_shown_again_with_their_new_value(
    client, held, items, incident, dan
):
    response, mine = held
    first, _ = items
    retitle(ActionItem, first.pk, "Check the build output twice", dan)
    again = choose(client, section_url(incident), response, "mine:0")
    page = html.unescape(again.content.decode())
    assert again.status_code == 409
    assert "Check the build output twice" in page
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build output twice"
    assert text_of(again) == mine
    # Now that theirs was seen, apply mine goes on top of it.
    assert choose(client, section_url(incident), again, "mine:0").status_code == 302
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build by hand"


def test_a_held_row_keeps_its_tick_until_mine_is_applied(client, bea, dan, incident, items):
    first, _ = items
    text, opened = opened_at(client, section_url(incident))
    retitle(ActionItem, first.pk, "Check the build output in CI", dan)
    mine = text.replace("- [ ] Check the build output before deploying", "- [x] Check by hand")
    response = apply(client, section_url(incident), mine, opened)
    assert response.status_code == 409
    first.refresh_from_db()
    assert not first.is_done
    assert choose(client, section_url(incident), response, "mine:0").status_code == 302
    first.refresh_from_db()
    assert (first.title, first.is_done, first.done_by) == ("Check by hand", True, bea)


def test_a_row_removed_in_the_text_that_someone_changed_is_held_then_removed_on_apply_mine(
    client, bea, dan, incident, items
):
    first, second = items
    text, opened = opened_at(client, section_url(incident))
    retitle(ActionItem, first.pk, "Check the build output in CI", dan)
    mine = text.replace(
        "- [ ] Check the build output before deploying p2 prevent due:2026-01-09\n", ""
    )
    mine = mine.replace("Write the rollback runbook", "Write the rollback guide")
    response = apply(client, section_url(incident), mine, opened)
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "1 change applied; 1 row changed by dan" in page
    assert ActionItem.objects.filter(pk=first.pk).exists()
    assert ActionItem.objects.get(pk=second.pk).title == "Write the rollback guide"
    assert choose(client, section_url(incident), response, "mine:0").status_code == 302
    assert not ActionItem.objects.filter(pk=first.pk).exists()


def test_the_document_writes_what_merges_and_holds_the_conflicting_row(
    client, bea, dan, incident, rows
):
    cause, lesson = rows
    text, opened = opened_at(client, document_url(incident))
    retitle(Cause, cause.pk, "The build dropped the worker file", dan)
    mine = text.replace("The worker file was missing", "The worker file never shipped")
    mine = mine.replace("Nobody looked at the bundle", "Nobody opened the bundle")
    mine = mine.replace("A deploy broke it.", "A deploy without its worker broke checkout.")
    response = apply(client, document_url(incident), mine, opened)
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "2 changes applied; 1 row changed by dan since you opened it" in page
    assert Lesson.objects.get(pk=lesson.pk).text == "Nobody opened the bundle"
    assert (
        Incident.objects.get(pk=incident.pk).summary
        == "A deploy without its worker broke checkout."
    )
    assert Cause.objects.get(pk=cause.pk).title == "The build dropped the worker file"
    assert "The worker file never shipped" in page
    assert "The build dropped the worker file" in page
    assert text_of(response) == mine

    assert choose(client, document_url(incident), response, "mine:0").status_code == 302
    cause.refresh_from_db()
    assert cause.title == "The worker file never shipped"
    assert cause.history.order_by("-history_id").first().history_user == bea


def test_a_prose_field_both_changed_is_held_while_the_rows_merge_and_theirs_can_be_kept(
    client, bea, dan, incident, rows
):
    _cause, lesson = rows
    text, opened = opened_at(client, document_url(incident))
    fresh = Incident.objects.get(pk=incident.pk)
    services.incident_update(
        incident=fresh, expected_version=fresh.version, user=dan, summary="Checkout broke."
    )
    mine = text.replace("A deploy broke it.", "A deploy without its worker broke checkout.")
    mine = mine.replace("Nobody looked at the bundle", "Nobody opened the bundle")
    response = apply(client, document_url(incident), mine, opened)
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "1 change applied; 1 row changed by dan" in page
    assert "A deploy without its worker broke checkout." in page
    assert "Checkout broke." in page
    assert Lesson.objects.get(pk=lesson.pk).text == "Nobody opened the bundle"
    assert Incident.objects.get(pk=incident.pk).summary == "Checkout broke."

    assert choose(client, document_url(incident), response, "theirs:0").status_code == 302
    assert Incident.objects.get(pk=incident.pk).summary == "Checkout broke."


def test_a_prose_field_both_changed_takes_mine_on_apply_mine(client, bea, dan, incident, rows):
    text, opened = opened_at(client, document_url(incident))
    fresh = Incident.objects.get(pk=incident.pk)
    services.incident_update(
        incident=fresh, expected_version=fresh.version, user=dan, summary="Checkout broke."
    )
    mine = text.replace("A deploy broke it.", "A deploy without its worker broke checkout.")
    response = apply(client, document_url(incident), mine, opened)
    assert response.status_code == 409
    assert choose(client, document_url(incident), response, "mine:0").status_code == 302
    summary = Incident.objects.get(pk=incident.pk).summary
    assert summary == "A deploy without its worker broke checkout."


def test_a_pasted_post_mortem_merges_and_holds_the_row_someone_changed(
    client, bea, dan, incident, rows
):
    cause, lesson = rows
    exported, _ = opened_at(client, document_url(incident))
    _, opened = opened_at(client, document_url(incident, "document_paste"))
    retitle(Cause, cause.pk, "The build dropped the worker file", dan)
    pasted = exported.replace("The worker file was missing", "The worker file never shipped")
    pasted = pasted.replace("Nobody looked at the bundle", "Nobody opened the bundle")
    url = document_url(incident, "document_paste")
    response = apply(client, url, pasted, opened)
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "1 change applied; 1 row changed by dan" in page
    assert Lesson.objects.get(pk=lesson.pk).text == "Nobody opened the bundle"
    assert Cause.objects.get(pk=cause.pk).title == "The build dropped the worker file"
    assert text_of(response) == pasted
    assert choose(client, url, response, "mine:0").status_code == 302
    assert Cause.objects.get(pk=cause.pk).title == "The worker file never shipped"


def test_a_tampered_choice_is_refused_and_writes_nothing(client, held, items, incident):
    response, _ = held
    first, _ = items
    page = response.content.decode()
    found = dict(HIDDEN.findall(page))
    refused = client.post(
        section_url(incident),
        {
            "text": text_of(response),
            "opened": found["opened"],
            "pending": found["pending"] + "x",
            "resolve": "mine:0",
        },
    )
    assert refused.status_code == 422
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build output in CI"


def _apply_queries(section: str, n: int, *, held: bool, user, other) -> int:
    """Queries of applying a text that edits the first of `n` rows (held back when `other`
    changed it since the text was opened)."""
    incident = IncidentFactory()
    for i in range(n):
        row: Lesson | ActionItem
        if section == "lessons":
            row = Lesson(incident=incident, kind="went_wrong", text=f"Lesson number {i}")
        else:
            row = ActionItem(incident=incident, title=f"Item number {i}", horizon="today")
        services.part_save(row=row, user=None)
    opened = textdiff.section_open(incident, section)
    model: type[Lesson | ActionItem] = Lesson if section == "lessons" else ActionItem
    words = "Lesson number 0" if section == "lessons" else "Item number 0"
    if held:
        first = model.objects.filter(incident=incident).order_by("order", "id")[0]
        name = "text" if section == "lessons" else "title"
        setattr(first, name, words + " as they wrote it")
        services.part_save(row=first, user=other, fields=[name])
    text = opened.text.replace(words, words + " as I wrote it")
    with CaptureQueriesContext(connection) as captured:
        outcome = section_text_apply(
            incident=incident, section=section, opened=opened, text=text, user=user
        )
    assert outcome.applied
    assert len(outcome.conflicts) == int(held)
    return len(captured)


@pytest.mark.parametrize("section", ["lessons", "actions"])
@pytest.mark.parametrize("held", [False, True])
def test_applying_a_text_costs_the_same_queries_among_1_row_and_50(bea, dan, section, held):
    counts = [_apply_queries(section, n, held=held, user=bea, other=dan) for n in (1, 50)]
    assert counts[0] == counts[1]


def test_choices_made_for_one_incident_do_not_count_on_another(client, held, items, incident):
    response, _ = held
    first, _ = items
    other = IncidentFactory()
    found = dict(HIDDEN.findall(response.content.decode()))
    refused = client.post(
        section_url(other),
        {
            "text": text_of(response),
            "opened": found["opened"],
            "pending": found["pending"],
            "resolve": "mine:0",
        },
    )
    assert refused.status_code == 422
    assert "another page" in html.unescape(refused.content.decode())
    assert ActionItem.objects.get(pk=first.pk).title == "Check the build output in CI"


def test_a_row_deleted_meanwhile_that_the_text_edits_is_held_and_can_be_added_back(
    client, bea, dan, incident, items
):
    first, second = items
    text, opened = opened_at(client, section_url(incident))
    services.part_delete(row=ActionItem.objects.get(pk=first.pk), user=dan)
    mine = text.replace("Check the build output before deploying", "Check the build by hand")
    mine = mine.replace("Write the rollback runbook", "Write the rollback guide")
    response = apply(client, section_url(incident), mine, opened)
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "1 change applied; 1 row changed by dan since you opened it" in page
    assert "deleted" in page
    assert ActionItem.objects.get(pk=second.pk).title == "Write the rollback guide"
    assert not ActionItem.objects.filter(title="Check the build by hand").exists()
    assert choose(client, section_url(incident), response, "mine:0").status_code == 302
    back = ActionItem.objects.get(title="Check the build by hand")
    assert (back.horizon, back.due_date) == ("today", date(2026, 1, 9))
