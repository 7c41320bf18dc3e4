"""The import's writer: clean_fields() checks every row, bulk_create() writes them, and
django-simple-history records each one as created, by the importing user; two statements however
many rows, and the garbage collector left alone."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from incidents.documents import services
from incidents.documents.bulk import rows_create
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


def _tracked(model, row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in model.history.model.tracked_fields}


def _items(incident, count: int) -> list[ActionItem]:
    return [
        ActionItem(
            incident_id=incident.pk, title=f"Item {i}", status="done" if i == 2 else "open",
            done_at=DONE_AT if i == 2 else None, priority="p1", kind="detect", horizon="today",
            due_date=date(2026, 2, i % 28 + 1), blocks_deployments=i == 3, order=i,
        )
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.django_db
def test_rows_are_written_with_one_created_record_each_carrying_the_user():
    user = UserFactory()
    rows = _items(IncidentFactory(), 5)

    written = rows_create(ActionItem, rows, user=user, exclude=RELATIONS)

    assert [row.pk for row in written] == [row.pk for row in rows]
    stored = {row.pk: row for row in ActionItem.objects.filter(pk__in=[r.pk for r in written])}
    assert [stored[row.pk].title for row in written] == [f"Item {i}" for i in range(5)]
    records = {r.id: r for r in ActionItem.history.filter(id__in=stored)}
    assert len(records) == ActionItem.history.filter(id__in=stored).count() == 5
    for row in written:
        record = records[row.pk]
        assert (record.history_type, record.history_user_id) == ("+", user.pk)
        assert record.history_change_reason is None
        assert _tracked(ActionItem, record) == _tracked(ActionItem, stored[row.pk])


@pytest.mark.django_db
def test_values_are_converted_on_the_rows_and_stored_as_clean_fields_converts_them():
    row = ActionItem(
        incident_id=IncidentFactory().pk,
        title=42,
        due_date="2026-01-05",
        order="3",
        blocks_deployments=1,  # type: ignore[misc]  # the wrong type on purpose: converted on save
    )

    rows_create(ActionItem, [row], user=None, exclude=RELATIONS)

    stored = ActionItem.objects.get(pk=row.pk)
    for values in (row, stored):
        assert (values.title, values.due_date, values.order, values.blocks_deployments) == (
            "42",
            date(2026, 1, 5),
            3,
            True,
        )


@pytest.mark.django_db
def test_a_row_the_checks_refuse_writes_none_of_the_rows_nor_their_history():
    rows = _items(IncidentFactory(), 3)
    rows[2].status = "bogus"
    rows[2].title = "x" * 301

    with pytest.raises(ValidationError) as refused:
        rows_create(ActionItem, rows, user=None, exclude=RELATIONS)

    assert sorted(refused.value.message_dict) == ["status", "title"]
    assert not ActionItem.objects.exists()
    assert not ActionItem.history.exists()


# 49 action items stay within one statement of the 999 values Django 5.2 assumes SQLite takes,
# and so do their history records (20 values each); PostgreSQL takes any number in one.
@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 49, pytest.param(1000, marks=pytest.mark.postgres)])
def test_rows_and_their_history_cost_two_statements_however_many_rows(
    count, django_assert_num_queries
):
    rows = _items(IncidentFactory(), count)

    with django_assert_num_queries(2):
        rows_create(ActionItem, rows, user=None, exclude=RELATIONS)

    assert ActionItem.history.filter(history_type="+").count() == count


# --- Through the import ------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_imported_row_has_one_created_record_with_the_importer_and_its_values():
    user = UserFactory()
    before = datetime.now(UTC) - timedelta(seconds=1)
    text = (DOCUMENTS / "seed_ledgerly.md").read_text(encoding="utf-8")
    # Its "What happened" steps give no times, so they are the summary: a timed line makes
    # an event of every part.
    text += "\n## Timeline\n\n- 09:40 The migration took its lock\n"

    incident = services.postmortem_import(data=text, user=user, create_service=True).incident

    for model in PARTS:
        lookup = "priority__incident" if model is SolutionOption else "incident"
        rows = list(model.objects.filter(**{lookup: incident}))
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

    def with_a_bad_lesson(model, rows, **kwargs):
        if model is Lesson:
            rows[-1].kind = "not_a_kind"
        return rows_create(model, rows, **kwargs)

    monkeypatch.setattr("incidents.documents.services.rows_create", with_a_bad_lesson)

    with pytest.raises(ValidationError) as refused:
        services.postmortem_import(
            data="# Pager storm\n\n## What Went Wrong\n\n- One\n- Two\n",
            user=None,
            service_slug="ops",
        )

    assert list(refused.value.message_dict) == ["kind"]
    assert not Lesson.objects.exists()
    assert not Lesson.history.exists()


@pytest.mark.django_db
def test_the_import_never_switches_the_garbage_collector_off(monkeypatch):
    """The collector is process-wide: an import in a web or worker process must not pause it
    for every other thread."""
    switched_off = []
    monkeypatch.setattr(gc, "disable", lambda: switched_off.append(True))
    on_while_writing = []

    def watched(model, rows, **kwargs):
        on_while_writing.append(gc.isenabled())
        return rows_create(model, rows, **kwargs)

    monkeypatch.setattr("incidents.documents.services.rows_create", watched)
    text = (DOCUMENTS / "seed_ledgerly.md").read_text(encoding="utf-8")

    services.postmortem_import(data=text, user=None, create_service=True)

    assert switched_off == []
    assert set(on_while_writing) == {True}
    assert gc.isenabled()
