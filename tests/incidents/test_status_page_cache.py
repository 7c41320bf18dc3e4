"""The status page's cache on the real shared cache (Redis when the suite has one): one process
rebuilds a stale page at a time while the others serve the previous bytes, a write still shows at
once, and a cold cache is built by whoever asks.

"Another process" is another thread here, talking to the same cache: what they share is the
cache, exactly as gunicorn workers do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from incidents.models import Maintenance
from incidents.statuspage import page as status_page_module
from incidents.statuspage.page import (
    PAGE_CACHE_KEY,
    PAGE_CACHE_SECONDS,
    REBUILD_LOCK_SECONDS,
    cached,
)
from incidents.statuspage.services import maintenance_create
from incidents.statuspage.views import public as public_views

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = "tests:status-cache:value"
LOCK = f"{KEY}:rebuilding"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def empty() -> Iterator[None]:
    keys = [KEY, LOCK, PAGE_CACHE_KEY, f"{PAGE_CACHE_KEY}:rebuilding"]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


class Builder:
    """Counts its builds; each build returns the next version."""

    def __init__(self) -> None:
        self.builds = 0

    def __call__(self) -> str:
        self.builds += 1
        return f"v{self.builds}"


def test_a_fresh_value_is_served_without_building():
    build = Builder()
    assert cached(KEY, build) == "v1"
    assert cached(KEY, build) == "v1"
    assert build.builds == 1


def test_a_stale_value_is_rebuilt_by_the_reader_who_takes_the_lock(clock):
    build = Builder()
    cached(KEY, build)
    clock.shift(timedelta(seconds=PAGE_CACHE_SECONDS + 1))
    assert cached(KEY, build) == "v2"
    assert build.builds == 2
    assert cache.get(LOCK) is None, "the lock is given back after the rebuild"


def test_while_another_process_rebuilds_a_reader_gets_the_previous_value_without_building(clock):
    first = Builder()
    cached(KEY, first)
    clock.shift(timedelta(seconds=PAGE_CACHE_SECONDS + 1))

    building, release = threading.Event(), threading.Event()
    slow_builds = []

    def slow() -> str:
        slow_builds.append(1)
        building.set()
        assert release.wait(10)
        return "rebuilt"

    results: list[str] = []
    other = threading.Thread(target=lambda: results.append(cached(KEY, slow)))
    other.start()
    try:
        assert building.wait(10), "the other process never started rebuilding"
        reader = Builder()
        assert [cached(KEY, reader) for _ in range(3)] == ["v1"] * 3
        assert reader.builds == 0
    finally:
        release.set()
        other.join(10)
    assert results == ["rebuilt"]
    assert len(slow_builds) == 1
    assert cached(KEY, Builder()) == "rebuilt"


def test_a_lock_left_by_a_dead_rebuilder_holds_back_readers_only_until_it_expires(clock):
    cached(KEY, Builder())
    clock.shift(timedelta(seconds=PAGE_CACHE_SECONDS + 1))
    assert cache.add(LOCK, 1, REBUILD_LOCK_SECONDS)  # taken by a process that then died
    reader = Builder()
    assert cached(KEY, reader) == "v1"
    assert reader.builds == 0
    cache.delete(LOCK)  # what its expiry does
    assert cached(KEY, reader) == "v1"
    assert reader.builds == 1


def test_with_nothing_kept_the_reader_builds_even_while_the_lock_is_held():
    assert cache.add(LOCK, 1, REBUILD_LOCK_SECONDS)
    build = Builder()
    assert cached(KEY, build) == "v1"
    assert build.builds == 1


def test_on_the_page_a_reader_gets_the_previous_bytes_while_another_process_rebuilds(
    clock, monkeypatch
):
    client = Client()
    before = client.get("/status/")
    Maintenance.objects.create(
        title="Unseen yet", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
    )
    clock.shift(timedelta(seconds=PAGE_CACHE_SECONDS + 1))
    renders: list[int] = []
    render = public_views._render

    def counted() -> public_views.RenderedPage:
        renders.append(1)
        return render()

    monkeypatch.setattr(public_views, "_render", counted)

    assert cache.add(f"{PAGE_CACHE_KEY}:rebuilding", 1, REBUILD_LOCK_SECONDS)
    during = client.get("/status/")
    assert during.status_code == 200
    assert during.content == before.content
    assert during["ETag"] == before["ETag"]
    assert renders == []

    cache.delete(f"{PAGE_CACHE_KEY}:rebuilding")
    after = client.get("/status/")
    assert b"Unseen yet" in after.content
    assert renders == [1]


def test_a_write_shows_at_once_even_while_a_rebuild_holds_the_lock(
    django_capture_on_commit_callbacks,
):
    client = Client()
    client.get("/status/")
    assert cache.add(f"{PAGE_CACHE_KEY}:rebuilding", 1, REBUILD_LOCK_SECONDS)
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_create(
            title="Planned now",
            service=None,
            description="",
            starts_at=NOW + timedelta(days=1),
            ends_at=NOW + timedelta(days=2),
        )
    assert b"Planned now" in client.get("/status/").content


def test_the_cache_keeps_a_stale_page_longer_than_it_is_fresh():
    Client().get("/status/")
    assert status_page_module.STALE_KEEP_SECONDS > PAGE_CACHE_SECONDS
    fresh_until, _ = cache.get(PAGE_CACHE_KEY)
    assert fresh_until == pytest.approx(NOW.timestamp() + PAGE_CACHE_SECONDS)
