"""Reading the feed in order."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from feed.models import FeedClock, FeedEvent
from feed.services import feed_sequence


class CursorExpired(Exception):
    """The cursor is older than the oldest kept event: events after it may have been purged.
    `latest` is where to continue from after resynchronising from the lists."""

    def __init__(self, *, purged_through: int, latest: int):
        self.purged_through = purged_through
        self.latest = latest
        super().__init__(f"Events up to position {purged_through} have been purged.")


@dataclass(frozen=True)
class FeedPage:
    events: list[FeedEvent]
    # The cursor to ask with next time.
    next_cursor: int


def _clock() -> tuple[int, int]:
    row = (
        FeedClock.objects.filter(pk=FeedClock.SINGLETON)
        .values_list("position", "purged_through")
        .first()
    )
    return row or (0, 0)


def feed_page(
    *, after: int | None, limit: int, kinds: list[str] | None = None, incident: str = ""
) -> FeedPage:
    """The events after position `after` (from the oldest kept one when None), in order.

    Sequences what committed first, so a page never leaves out an event that a later page would
    show before it. A page that is not full has read everything up to the clock, so its next
    cursor is the clock's position even when a filter left the rest out: a filtered reader does
    not scan the same events again.
    """
    feed_sequence()
    latest, purged_through = _clock()
    if after is not None and after < purged_through:
        raise CursorExpired(purged_through=purged_through, latest=latest)
    start = purged_through if after is None else after
    events: QuerySet[FeedEvent] = FeedEvent.objects.filter(position__gt=start, position__lte=latest)
    if kinds:
        events = events.filter(kind__in=kinds)
    if incident:
        events = events.filter(incident=incident)
    page = list(events.order_by("position")[:limit])
    if len(page) < limit:
        return FeedPage(events=page, next_cursor=max(latest, start))
    return FeedPage(events=page, next_cursor=page[-1].position or start)


def feed_latest_position() -> int:
    """The cursor of "now": where a sync job that has just read the lists goes on from."""
    feed_sequence()
    return _clock()[0]
