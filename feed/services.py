"""Recording changes in the feed, putting committed ones in order, and forgetting old ones.

Why a sequencer: ids are handed out when rows are inserted, but transactions commit in another
order. A reader that followed ids could read id 7 while id 6's transaction is still open, move
its cursor past 6, and never see it. So readers follow `position` instead, which only the
sequencer gives, only to rows already committed, under one lock (the FeedClock row): whatever a
reader has seen, every position given later is larger.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from core import plugins
from feed.kinds import EventKind
from feed.models import FeedClock, FeedEvent

# The API token the current request acts with, by name and by its owner's id, set by the API's
# authentication: the feed names the token, not its owner, so a sync job's own writes are
# recognisable. The owner is kept so that a name left behind by code that authenticated outside
# a request (a test calling a view, a shell) can never be given to another person's change.
_token_name: ContextVar[tuple[str, int | None]] = ContextVar("feed_token_name", default=("", None))

SEQUENCE_BATCH = 1000
PURGE_BATCH = 1000


def feed_record(
    *,
    kind: EventKind,
    subject_id: str | int,
    data: dict[str, Any],
    incident: str = "",
    actor: str = "",
    changes: Iterable[str] = (),
) -> FeedEvent:
    """Record a change; call it inside the transaction that made the change. The listeners
    (webhooks) run here too, so a change, its event and its deliveries commit together."""
    event = FeedEvent.objects.create(
        kind=kind,
        subject_id=str(subject_id),
        data=data,
        incident=incident,
        actor=actor,
        changes=sorted(set(changes)),
    )
    for listener in plugins.feed_listeners():
        listener([event])
    return event


def feed_record_many(events: Iterable[dict[str, Any]]) -> list[FeedEvent]:
    """feed_record for many changes written in bulk (an import), in one INSERT; each keyword
    dict as feed_record takes them. The listeners still hear each event."""
    rows = [
        FeedEvent(
            kind=event["kind"],
            subject_id=str(event["subject_id"]),
            data=event["data"],
            incident=event.get("incident", ""),
            actor=event.get("actor", ""),
            changes=sorted(set(event.get("changes", ()))),
        )
        for event in events
    ]
    created = FeedEvent.objects.bulk_create(rows)
    for listener in plugins.feed_listeners():
        listener(created)  # the batch at once: a listener's cost must not grow with it
    return created


def feed_actor(user: User | AnonymousUser | None) -> str:
    """Who the feed names for a change by `user`: the API token acting in this request, else
    the person's username, else nobody (the system)."""
    token, owner = _token_name.get()
    if token and (owner is None or (user is not None and user.pk == owner)):
        return token
    if user is not None and user.is_authenticated:
        return user.get_username()
    return ""


@contextlib.contextmanager
def feed_acting_as(token_name: str, *, owner: int | None = None) -> Iterator[None]:
    """Name `token_name` as the actor of every change recorded inside the block (by `owner`'s
    user id, when given)."""
    reset = _token_name.set((token_name, owner))
    try:
        yield
    finally:
        _token_name.reset(reset)


def feed_token_set(token_name: str, *, owner: int) -> None:
    """Name the token of user `owner` for the rest of this request (the API's authentication;
    the middleware FeedActor clears it when the request ends)."""
    _token_name.set((token_name, owner))


def feed_sequence() -> int:
    """Give the next positions to committed events that have none, in id order; returns how
    many. Cheap when none is waiting (one indexed look-up, no lock)."""
    if not FeedEvent.objects.filter(position=None).exists():
        return 0
    given = 0
    while True:
        with transaction.atomic():
            clock = _clock_locked()
            # Read after taking the lock: what another sequencer numbered before us is no longer
            # pending, and only rows whose transactions committed are visible at all.
            pending = list(
                FeedEvent.objects.filter(position=None)
                .order_by("id")
                .values_list("id", flat=True)[:SEQUENCE_BATCH]
            )
            if not pending:
                return given
            rows = [
                FeedEvent(id=pk, position=clock.position + offset)
                for offset, pk in enumerate(pending, start=1)
            ]
            FeedEvent.objects.bulk_update(rows, ["position"])
            clock.position += len(rows)
            clock.save(update_fields=["position"])
        given += len(rows)
        if len(rows) < SEQUENCE_BATCH:
            return given


def _clock_locked() -> FeedClock:
    FeedClock.objects.get_or_create(pk=FeedClock.SINGLETON)
    return FeedClock.objects.select_for_update().get(pk=FeedClock.SINGLETON)


def feed_purge(*, now: Any = None) -> int:
    """Delete events older than HINDSIGHT_FEED_RETENTION_DAYS, in batches, oldest position
    first; returns how many.

    Only a prefix of the sequence goes: everything before the first event still kept, so that
    "every position up to purged_through is gone" stays true and a cursor before it can be told
    it may have missed something (410), never quietly skip it.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.HINDSIGHT_FEED_RETENTION_DAYS)
    feed_sequence()
    kept_from = (
        FeedEvent.objects.filter(occurred_at__gte=cutoff)
        .exclude(position=None)
        .aggregate(first=Min("position"))["first"]
    )
    old = FeedEvent.objects.exclude(position=None)
    if kept_from is not None:
        old = old.filter(position__lt=kept_from)
    deleted = 0
    while True:
        with transaction.atomic():
            clock = _clock_locked()
            batch: list[int] = [
                position
                for position in old.order_by("position").values_list("position", flat=True)[
                    :PURGE_BATCH
                ]
                if position is not None
            ]
            if not batch:
                return deleted
            FeedEvent.objects.filter(position__lte=batch[-1]).exclude(position=None).delete()
            clock.purged_through = max(clock.purged_through, batch[-1])
            clock.save(update_fields=["purged_through"])
        deleted += len(batch)
