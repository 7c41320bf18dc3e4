"""Every write answers within a second while Redis is wedged, and keeps the work it queued.

Each write of the table (tests/reliability/write_routes.py: one valid request for every write
route) is sent with Redis accepting connections but never answering (the slow way to be down:
every ask waits out its timeout), with the broker, the cache and the rate limit counters all
pointing there, and with no pause left by an earlier failure (core.redis_pause), so each pays
what the first request after a failure pays. The time counted includes what runs after the write
commits (the outbox's quick publish), as it does in a real request. It must answer 2xx (a page
may redirect) without an error message, and what it queued stays in the outbox, unpublished, for
the relay. test_redis_down_drain.py sends the same table with Redis refused (quickly) and shows
the outbox drains.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import transaction

from outbox.models import OutboxMessage
from tests.reliability.redis_down import redis_down, warm_up
from tests.reliability.write_routes import NOT_WALKED, WALKED, write_routes
from tests.reliability.writes import World, Write, refusal, world_build

pytestmark = [
    pytest.mark.django_db,
    # "Within a second": one at a time with the group that needs quiet (tests/conftest.py).
    pytest.mark.xdist_group("one-at-a-time"),
]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once, in a transaction rolled back after the module; each test runs in a savepoint
    of its own, so each write finds the world as built."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = world_build()
        warm_up(built)
        yield built
        transaction.set_rollback(True)


def test_every_write_route_is_in_the_table():
    listed = {f"{write.method} {write.route}" for write in WALKED} | set(NOT_WALKED)
    missing = sorted(write_routes() - listed)
    assert not missing, (
        "write routes neither walked with Redis down nor named in NOT_WALKED "
        f"(tests/reliability/write_routes.py): {missing}"
    )
    assert not listed - write_routes(), "the table names routes that do not exist or do not write"


@pytest.mark.parametrize("write", WALKED, ids=str)
def test_a_write_answers_within_a_second_with_redis_wedged_and_keeps_its_tasks(
    write: Write, world: World, monkeypatch, django_capture_on_commit_callbacks
):
    queued_before = set(OutboxMessage.objects.values_list("pk", flat=True))

    with redis_down("wedged", monkeypatch):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = write.send(world)
        elapsed = time.monotonic() - started

    page = not write.path(world).startswith("/api/")
    answered = 200 <= response.status_code < 300 or (page and response.status_code == 302)
    assert answered, f"{response.status_code} {response.content[:800]!r}"
    assert not refusal(response), refusal(response)
    assert elapsed < 1.0, f"{write} took {elapsed:.2f} s with Redis wedged"
    queued = OutboxMessage.objects.exclude(pk__in=queued_before)
    assert not queued.filter(published_at__isnull=False).exists()
