"""The import's bulk writer holds to what it replaces: clean_fields() for the checks,
bulk_create() for the rows, django-simple-history for their history records."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from incidents.documents import bulk, services
from incidents.documents.bulk import (
    collector_paused,
    fields_validate,
    history_insert,
    rows_insert,
)
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

DOCUMENTS = Path(__file__).parent
PARTS = (
    TimelineEvent, StatusItem, Cause, Lesson, ActionItem, SuccessCriterion, PathPriority,
    SolutionOption, FinalNote, Communication,
)  # fmt: skip
RELATIONS = ["incident", "parent", "owner", "done_by"]
DONE_AT = datetime(2026, 1, 9, 12, 30, tzinfo=UTC)

# Values an action item's checks accept (some only once converted: "3" to 3, 1 to True,
# "2026-01-05" to a date, 42 to "42") and values they refuse: too long, blank where not
# allowed, not a choice, not a date, negative, None where null is not allowed.
GOOD = {
    "title": ["Add a limit", "x" * 300, 42],
    "detail": ["", "some **detail**", None],
    "status": ["open", "done"],
    "priority": ["p1", "p2"],
    "kind": ["prevent", "detect"],
    "horizon": ["this_week", "today"],
    "due_date": [None, date(2026, 1, 5), "2026-01-05", ""],
    "order": [0, 7, "3", True],
    "blocks_deployments": [True, False, 1, "t"],
}
BAD = {
    "title": ["", "x" * 301, None],
    "detail": [],
    "status": ["bogus", ""],
    "priority": ["p9"],
    "kind": ["nope"],
    "horizon": ["someday"],
    "due_date": ["2026-13-40", "soon"],
    "order": [-1, "three", None],
    "blocks_deployments": [None, "maybe", "true"],
}


def _rows(bad: bool) -> st.SearchStrategy[list[dict]]:
    row = st.fixed_dictionaries(
        {name: st.sampled_from(GOOD[name] + (BAD[name] if bad else [])) for name in GOOD}
    )
    return st.lists(row, min_size=1, max_size=6)


def _outcome(check, rows) -> tuple[dict | None, list[dict]]:
    """The error (as messages by field) or None, and every row's checked values with types."""
    try:
        check(rows)
    except ValidationError as error:
        return error.message_dict, []
    return None, [
        {name: (type(getattr(row, name)), getattr(row, name)) for name in GOOD} for row in rows
    ]


def _one_by_one(rows: list[ActionItem]) -> None:
    for row in rows:
        row.clean_fields(exclude=RELATIONS)


# Half the examples hold only good values, so the cleaned values are compared as often as the
# errors are.
@given(st.booleans().flatmap(_rows))
@hypothesis_settings(max_examples=300, deadline=None, derandomize=True)
def test_rows_checked_together_pass_and_fail_exactly_as_clean_fields_row_by_row(values):
    expected = _outcome(_one_by_one, [ActionItem(**v) for v in values])
    checked = _outcome(
        lambda rows: fields_validate(rows, exclude=RELATIONS), [ActionItem(**v) for v in values]
    )

    assert checked == expected


def test_values_are_converted_on_the_rows_as_clean_fields_converts_them():
    row = ActionItem(title=42, due_date="2026-01-05", order="3", blocks_deployments=1)

    fields_validate([row], exclude=RELATIONS)

    assert (row.title, row.due_date, row.order, row.blocks_deployments) == (
        "42",
        date(2026, 1, 5),
        3,
        True,
    )


def test_a_value_refused_in_one_row_is_refused_in_every_row_and_the_first_is_reported():
    rows = [ActionItem(title="fine"), ActionItem(title="x" * 301), ActionItem(title="x" * 301)]
    rows[2].status = "bogus"

    with pytest.raises(ValidationError) as refused:
        fields_validate(rows, exclude=RELATIONS)

    assert list(refused.value.message_dict) == ["title"]


def _items(incident, owner, prefix: str) -> list[ActionItem]:
    return [
        ActionItem(
            incident_id=incident.pk, title=f"{prefix} {i}", detail=f"Step `{i}`",
            detail_html=f"<p>Step <code>{i}</code></p>", status="done" if i == 2 else "open",
            done_at=DONE_AT if i == 2 else None, priority="p1", kind="detect",
            horizon="today", owner_id=owner.pk if i % 2 else None, due_date=date(2026, 2, i + 1),
            blocks_deployments=i == 3, order=i,
        )
        for i in range(5)
    ]  # fmt: skip


def _stored(rows) -> list[dict]:
    skipped = {"id", "incident_id", "title", "created_at", "updated_at"}
    by_pk = {r["id"]: r for r in ActionItem.objects.filter(pk__in=[r.pk for r in rows]).values()}
    return [
        {k: v for k, v in by_pk[row.pk].items() if k not in skipped} | {"title": row.title}
        for row in rows
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "unnest", [False, pytest.param(True, marks=pytest.mark.postgres)], ids=["values", "unnest"]
)
def test_rows_inserted_are_stored_as_bulk_create_stores_them(unnest, monkeypatch):
    owner = UserFactory()
    ours, theirs = IncidentFactory(), IncidentFactory()
    if not unnest:
        # Two rows a statement: five rows take three statements, and ids must still line up.
        monkeypatch.setattr(bulk, "_unnest", lambda connection, fields: None)
        monkeypatch.setattr(bulk, "_batch_size", lambda connection, fields: 2)
    before = datetime.now(UTC)

    written = _items(ours, owner, "Ours")
    rows_insert(written)
    reference = ActionItem.objects.bulk_create(_items(theirs, owner, "Theirs"))

    titles = dict(ActionItem.objects.values_list("pk", "title"))
    assert [titles[row.pk] for row in written] == [f"Ours {i}" for i in range(5)]
    strip = [{**row, "title": row["title"].split()[1]} for row in _stored(written)]
    assert strip == [{**row, "title": row["title"].split()[1]} for row in _stored(reference)]
    assert all(row.created_at >= before and not row._state.adding for row in written)
    # pre_save's time is set on the rows too, and the rows of one statement share it.
    stored = dict(ActionItem.objects.values_list("pk", "created_at"))
    assert [row.created_at for row in written] == [stored[row.pk] for row in written]
    assert written[0].created_at == written[1].created_at


@pytest.mark.django_db
def test_a_row_that_points_at_an_unsaved_row_is_refused_as_bulk_create_refuses_it():
    incident = IncidentFactory()
    orphan = ActionItem(incident=incident, parent=ActionItem(incident=incident, title="unsaved"))

    with pytest.raises(ValueError, match="unsaved related object 'parent'"):
        rows_insert([orphan])
    assert not ActionItem.objects.exists()


@pytest.mark.django_db
def test_rows_that_were_saved_before_are_refused():
    saved = ActionItem.objects.create(incident=IncidentFactory(), title="saved")

    with pytest.raises(ValueError, match=r"new incidents\.ActionItem rows only"):
        rows_insert([saved])


def _causes(incident, prefix: str) -> list[Cause]:
    return [
        Cause(incident_id=incident.pk, kind="trigger", title=f"{prefix} {i}", detail="d", order=i)
        for i in range(3)
    ]


def _records(incident) -> list[dict]:
    skipped = {"id", "history_id", "incident_id", "title", "history_date"}
    records = Cause.history.filter(incident_id=incident.pk).order_by("order").values()
    return [{k: v for k, v in r.items() if k not in skipped} for r in records]


@pytest.mark.django_db
def test_history_copied_by_the_database_is_what_simple_history_writes():
    user = UserFactory()
    ours, theirs = IncidentFactory(), IncidentFactory()
    rows = _causes(ours, "Ours")
    rows_insert(rows)
    when = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    history_insert(Cause.objects.filter(incident=ours), count=len(rows), user_id=user.pk, date=when)
    bulk_create_with_history(_causes(theirs, "Theirs"), Cause, default_user=user)

    assert _records(ours) == _records(theirs)
    assert _records(ours)[0]["history_type"] == "+"
    assert _records(ours)[0]["history_user_id"] == user.pk
    assert set(
        Cause.history.filter(incident_id=ours.pk).values_list("history_date", flat=True)
    ) == {when}
    copied = Cause.history.filter(incident_id=ours.pk).order_by("order")
    assert [(r.id, r.title) for r in copied] == [(row.pk, row.title) for row in rows]


@pytest.mark.django_db
def test_history_that_would_not_cover_every_row_is_refused():
    incident = IncidentFactory()
    rows_insert(_causes(incident, "Cause"))

    with pytest.raises(RuntimeError, match="3 new Cause rows, but 2 history records"):
        history_insert(
            Cause.objects.filter(incident=incident, order__lt=2),
            count=3,
            user_id=None,
            date=DONE_AT,
        )


# --- Through the import ------------------------------------------------------------------------


def _tracked(model, row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in model.history.model.tracked_fields}


@pytest.mark.django_db
def test_every_imported_row_has_one_created_record_with_the_importer_and_its_values():
    user = UserFactory()
    before = datetime.now(UTC) - timedelta(seconds=1)
    text = (DOCUMENTS / "seed_ledgerly.md").read_text(encoding="utf-8")

    incident = services.postmortem_import(data=text, user=user, create_service=True).incident

    for model in PARTS:
        rows = list(
            model.objects.filter(priority__incident=incident)
            if model is SolutionOption
            else model.objects.filter(incident=incident)
        )
        assert rows, model
        records = {r.id: r for r in model.history.filter(id__in=[row.pk for row in rows])}
        assert len(records) == len(rows) == model.history.filter(id__in=records).count()
        for row in rows:
            record = records[row.pk]
            assert (record.history_type, record.history_user_id) == ("+", user.pk)
            assert record.history_change_reason is None
            assert record.history_date >= before
            assert _tracked(model, record) == _tracked(model, row)


@pytest.mark.django_db
def test_an_import_without_a_user_records_the_requests_user_as_simple_history_does():
    ServiceFactory(slug="ops")
    request = RequestFactory().get("/")
    request.user = UserFactory()
    HistoricalRecords.context.request = request
    try:
        incident = services.postmortem_import(
            data="# Pager storm\n\n## What Went Wrong\n\n- Nobody owned the pager\n",
            user=None,
            service_slug="ops",
        ).incident
    finally:
        del HistoricalRecords.context.request

    assert Lesson.history.get(incident_id=incident.pk).history_user == request.user


@pytest.mark.django_db
def test_a_row_the_checks_refuse_stops_the_import_and_writes_nothing(monkeypatch):
    ServiceFactory(slug="ops")
    real = bulk.fields_validate

    def with_a_bad_lesson(rows, *, exclude):
        if isinstance(rows[0], Lesson):
            rows[-1].kind = "not_a_kind"
        real(rows, exclude=exclude)

    monkeypatch.setattr("incidents.documents.services.fields_validate", with_a_bad_lesson)

    with pytest.raises(ValidationError) as refused:
        services.postmortem_import(
            data="# Pager storm\n\n## What Went Wrong\n\n- One\n- Two\n",
            user=None,
            service_slug="ops",
        )

    assert list(refused.value.message_dict) == ["kind"]
    assert gc.isenabled()
    assert not Lesson.objects.exists()
    assert not Lesson.history.exists()


def _fail_while_paused() -> None:
    with collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("disk full")


def test_the_collector_is_paused_for_the_duration_and_back_on_after_a_failure():
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="disk full"):
        _fail_while_paused()

    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
