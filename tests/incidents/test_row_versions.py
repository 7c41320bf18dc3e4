"""Rows of the sections carry a version: every write bumps it, and part_save holds the rule of
incident_update for them, so two people editing one lesson never overwrite each other unseen."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services
from incidents.postmortem.services import comparable_values
from tests.factories import T0, IncidentFactory

pytestmark = pytest.mark.django_db

ROW_MODELS = (
    TimelineEvent,
    StatusItem,
    Cause,
    Lesson,
    ActionItem,
    SuccessCriterion,
    PathPriority,
    SolutionOption,
    FinalNote,
)


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def lesson(incident):
    return services.part_save(
        row=Lesson(incident=incident, kind="went_wrong", text="First words."), user=None
    )


def _read(row):
    return type(row).objects.get(pk=row.pk)


def _saved_by_someone_else(row, **changes):
    theirs = _read(row)
    for name, value in changes.items():
        setattr(theirs, name, value)
    return services.part_save(
        row=theirs, user=None, fields=list(changes), expected_version=theirs.version
    )


@pytest.mark.parametrize("model", ROW_MODELS, ids=lambda m: m.__name__)
def test_every_row_starts_at_version_1_under_a_named_constraint(model):
    assert model._meta.get_field("version").default == 1
    assert any(c.name.endswith("_version_positive") for c in model._meta.constraints)


def test_the_database_refuses_a_version_below_1(lesson):
    with pytest.raises(IntegrityError), transaction.atomic():
        Lesson.objects.filter(pk=lesson.pk).update(version=0)


def test_a_save_bumps_the_version(lesson):
    mine = _read(lesson)
    mine.text = "Second words."
    saved = services.part_save(
        row=mine, user=None, fields=["text"], expected_version=1, base={"text": "First words."}
    )
    assert (saved.version, saved.text, saved.text_html) == (
        2,
        "Second words.",
        "<p>Second words.</p>",
    )


def test_a_stale_save_of_the_same_field_is_a_conflict_that_names_it_and_keeps_theirs(lesson):
    """The trial: A and B open Edit on one lesson; A saves, B saves: both got 200 and A's text
    was gone."""
    mine = _read(lesson)
    started_from = comparable_values(mine, ["kind", "text"])
    _saved_by_someone_else(lesson, text="A's words.")

    mine.text = "B's words."
    with pytest.raises(services.StaleRow) as conflict:
        services.part_save(
            row=mine, user=None, fields=["text"], expected_version=1, base=started_from
        )

    assert conflict.value.fields == ["text"]
    assert conflict.value.current_version == 2
    assert _read(lesson).text == "A's words."


def test_saving_again_from_the_version_it_showed_goes_on_top_on_purpose(lesson):
    _saved_by_someone_else(lesson, text="A's words.")
    seen = _read(lesson)
    mine = _read(lesson)
    mine.text = "B's words, on top."
    saved = services.part_save(
        row=mine,
        user=None,
        fields=["text"],
        expected_version=seen.version,
        base=comparable_values(seen, ["text"]),
    )
    assert (saved.text, saved.version) == ("B's words, on top.", 3)


def test_a_stale_save_of_another_field_goes_on_top_and_keeps_theirs(incident):
    cause = services.part_save(
        row=Cause(incident=incident, title="No artifact check", detail="None ran."), user=None
    )
    mine = _read(cause)
    started_from = comparable_values(mine, ["title", "detail", "kind"])
    _saved_by_someone_else(cause, detail="The build step never checked its output.")

    mine.title = "No check of the build output"
    saved = services.part_save(
        row=mine, user=None, fields=["title"], expected_version=1, base=started_from
    )

    assert saved.title == "No check of the build output"
    assert saved.detail == "The build step never checked its output."
    assert saved.version == 3


def test_without_a_base_any_stale_version_is_refused(lesson):
    _saved_by_someone_else(lesson, kind="lucky")
    mine = _read(lesson)
    mine.text = "Mine."
    with pytest.raises(services.StaleRow) as stale:
        services.part_save(row=mine, user=None, fields=["text"], expected_version=1)
    assert stale.value.current_version == 2
    assert _read(lesson).text == "First words."


def test_ticking_an_item_bumps_its_version_but_never_conflicts_with_editing_its_text(incident):
    item = services.part_save(row=ActionItem(incident=incident, title="Old title"), user=None)
    mine = _read(item)
    started_from = comparable_values(mine, ["title", "owner", "due_date"])

    done = services.action_item_complete(item=_read(item), user=None)
    assert done.version == 2
    mine.title = "New title"
    saved = services.part_save(
        row=mine, user=None, fields=["title"], expected_version=1, base=started_from
    )

    assert (saved.title, saved.status, saved.version) == ("New title", "done", 3)
    assert saved.done_at is not None


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda item: services.action_item_complete(item=item, user=None), id="complete"
        ),
        pytest.param(
            lambda item: services.action_item_assign(item=item, user=None, priority="p1"),
            id="assign",
        ),
        pytest.param(lambda item: services.part_move(row=item, offset=1, user=None), id="move"),
    ],
)
def test_every_write_to_an_item_bumps_its_version(incident, write):
    item = services.part_save(row=ActionItem(incident=incident, title="One"), user=None)
    services.part_save(row=ActionItem(incident=incident, title="Two"), user=None)
    write(_read(item))
    assert _read(item).version == 2


def test_reopening_bumps_the_version_and_doing_nothing_spends_none(incident):
    item = services.part_save(row=ActionItem(incident=incident, title="One"), user=None)
    services.action_item_reopen(item=_read(item), user=None)  # not done: nothing changes
    assert _read(item).version == 1
    services.action_item_complete(item=_read(item), user=None)
    services.action_item_complete(item=_read(item), user=None)  # a double click
    services.action_item_reopen(item=_read(item), user=None)
    assert _read(item).version == 3


def test_ticking_a_criterion_bumps_its_version_once(incident):
    criterion = services.part_save(
        row=SuccessCriterion(incident=incident, text="Worker over 100 KB"), user=None
    )
    services.criterion_set_done(criterion=_read(criterion), done=True, user=None)
    services.criterion_set_done(criterion=_read(criterion), done=True, user=None)
    ticked = _read(criterion)
    assert (ticked.done, ticked.version) == (True, 2)
    assert ticked.history.count() == 2


def test_a_move_bumps_every_row_it_renumbers_and_records_them(incident):
    a, b, c = (
        services.part_save(row=Lesson(incident=incident, kind="lucky", text=t), user=None)
        for t in "abc"
    )
    services.part_move(row=_read(c), offset=-1, user=None)
    assert [(r.text, r.order, r.version) for r in a.siblings()] == [
        ("a", 0, 1),
        ("c", 1, 2),
        ("b", 2, 2),
    ]
    assert _read(b).history.count() == 2


def test_a_stale_delete_is_refused_and_deletes_nothing(lesson):
    _saved_by_someone_else(lesson, text="A's words.")
    with pytest.raises(services.StaleRow) as stale:
        services.part_delete(row=_read(lesson), user=None, expected_version=1)
    assert stale.value.current_version == 2
    assert Lesson.objects.filter(pk=lesson.pk).exists()
    services.part_delete(row=_read(lesson), user=None, expected_version=2)
    assert not Lesson.objects.filter(pk=lesson.pk).exists()


def test_a_save_without_an_expected_version_still_bumps_it(incident):
    event = services.timeline_event_add(incident=incident, occurred_at=T0, text="Paged.")
    event.text = "Paged twice."
    saved = services.part_save(row=event, user=None, fields=["text"])
    assert (saved.text, saved.version) == ("Paged twice.", 2)
