"""The feed's order: positions go to committed events only, in one sequence, so a reader
following positions never passes an event that commits later; and retention, which tells a
reader whose cursor it outran (410) rather than let it miss events."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from feed.kinds import EventKind
from feed.models import FeedClock, FeedEvent
from feed.selectors import CursorExpired, feed_page
from feed.services import feed_purge, feed_record, feed_sequence

pytestmark = pytest.mark.django_db(transaction=True)


def _record(subject: str, **fields) -> FeedEvent:
    return feed_record(kind=EventKind.INCIDENT_UPDATED, subject_id=subject, data={}, **fields)


def _subjects(after: int | None) -> tuple[list[str], int]:
    page = feed_page(after=after, limit=100)
    return [event.subject_id for event in page.events], page.next_cursor


@pytest.mark.postgres
def test_a_reader_never_skips_an_event_whose_transaction_committed_after_a_later_id():
    inserted = threading.Event()
    may_commit = threading.Event()
    failure: list[BaseException] = []
    slow_ids: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                slow_ids.append(_record("INC-1").id)  # takes the smaller id
                inserted.set()
                assert may_commit.wait(timeout=30)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(timeout=30)
    with transaction.atomic():
        later = _record("INC-2")
    assert later.id > slow_ids[0]

    seen, cursor = _subjects(None)
    assert seen == ["INC-2"]  # the uncommitted one is invisible, and got no position

    may_commit.set()
    writer.join(timeout=30)
    assert not failure, failure
    seen, cursor = _subjects(cursor)
    assert seen == ["INC-1"]
    assert list(FeedEvent.objects.order_by("position").values_list("subject_id", flat=True)) == [
        "INC-2",
        "INC-1",
    ]


def test_positions_follow_ids_among_committed_events_and_a_second_run_gives_none():
    for n in range(3):
        _record(f"INC-{n}")
    assert feed_sequence() == 3
    assert feed_sequence() == 0
    events = list(FeedEvent.objects.order_by("id"))
    assert [event.position for event in events] == [1, 2, 3]
    assert FeedClock.objects.get().position == 3


def test_an_empty_or_filtered_page_still_moves_the_cursor_to_the_clock():
    _record("INC-1")
    feed_record(kind=EventKind.ACTION_ITEM_CREATED, subject_id="4", data={}, incident="INC-1")
    page = feed_page(after=None, limit=10, kinds=[EventKind.ACTION_ITEM_CREATED])
    assert [event.subject_id for event in page.events] == ["4"]
    assert page.next_cursor == 2
    assert feed_page(after=2, limit=10).events == []
    assert feed_page(after=2, limit=10).next_cursor == 2


def test_a_full_page_ends_at_its_last_event():
    for n in range(5):
        _record(f"INC-{n}")
    page = feed_page(after=None, limit=2)
    assert [event.position for event in page.events] == [1, 2]
    assert page.next_cursor == 2


def test_purge_deletes_only_events_past_retention_and_a_cursor_before_them_expires(settings):
    settings.HINDSIGHT_FEED_RETENTION_DAYS = 90
    now = timezone.now()
    for n, age in enumerate([100, 95, 10, 91]):
        _record(f"INC-{n}", actor="")
        FeedEvent.objects.filter(subject_id=f"INC-{n}").update(
            occurred_at=now - timedelta(days=age)
        )
    # The fourth is old, but after a kept one: it stays, so no reader past the third misses it.
    assert feed_purge(now=now) == 2
    assert list(FeedEvent.objects.values_list("subject_id", flat=True).order_by("position")) == [
        "INC-2",
        "INC-3",
    ]
    with pytest.raises(CursorExpired) as expired:
        feed_page(after=1, limit=10)
    assert expired.value.latest == 4
    assert _subjects(2) == (["INC-2", "INC-3"], 4)
    assert _subjects(None) == (["INC-2", "INC-3"], 4)
