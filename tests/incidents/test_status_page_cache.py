"""The kept public documents (one row each in the database): one process rebuilds a stale or
expired document at a time while the others serve the previous bytes, a write marks them stale in
its own transaction, the first build ever is made by whoever asks, and a rebuild that finds
nothing new keeps the same bytes and ETag, so repeat visitors keep getting 304.

"Another process" is a claim set on the row, as a process that is rebuilding leaves it; the one
test with real threads runs on committed data, since each thread has a connection of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client

from incidents.models import Maintenance, PublicDocument
from incidents.statuspage.page import (
    CLAIM_SECONDS,
    FRESH_SECONDS,
    PAGE_KEY,
    Built,
    public_document,
    public_documents_mark_stale,
)
from incidents.statuspage.services import incident_publish, incident_unpublish, maintenance_create
from incidents.statuspage.views import public as public_views
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = "tests:kept-document"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class Builder:
    """Counts its builds; each build makes the next version."""

    def __init__(self) -> None:
        self.builds = 0

    def __call__(self) -> Built:
        self.builds += 1
        return Built(body=f"v{self.builds}".encode(), content_type="text/plain")


def read(build: Builder | None = None) -> bytes:
    served = public_document(KEY, build or Builder(), gzip=False)
    assert served is not None
    return served.body


def claimed_by_another_process() -> None:
    PublicDocument.objects.filter(key=KEY).update(
        claimed_until=NOW + timedelta(seconds=CLAIM_SECONDS)
    )


def test_the_first_reader_builds_it_and_later_readers_read_the_row():
    build = Builder()
    assert read(build) == b"v1"
    assert read(build) == b"v1"
    assert build.builds == 1
    assert PublicDocument.objects.get(key=KEY).body == b"v1"


def test_an_expired_document_is_rebuilt_by_the_reader_who_claims_it(clock):
    build = Builder()
    read(build)
    clock.shift(timedelta(seconds=FRESH_SECONDS + 1))
    assert read(build) == b"v2"
    assert build.builds == 2
    kept = PublicDocument.objects.get(key=KEY)
    assert kept.claimed_until <= kept.built_at, "the claim is given back after the rebuild"
    assert not kept.stale


def test_while_another_process_rebuilds_a_reader_gets_the_previous_bytes_without_building(clock):
    read(Builder())
    public_documents_mark_stale()
    claimed_by_another_process()
    reader = Builder()
    assert [read(reader) for _ in range(3)] == [b"v1"] * 3
    assert reader.builds == 0


def test_a_claim_left_by_a_dead_rebuilder_holds_back_readers_only_until_it_runs_out(clock):
    read(Builder())
    public_documents_mark_stale()
    claimed_by_another_process()
    reader = Builder()
    assert read(reader) == b"v1"
    clock.shift(timedelta(seconds=CLAIM_SECONDS))
    assert read(reader) == b"v1"  # this reader's first build: its own v1
    assert reader.builds == 1


def test_a_write_during_a_rebuild_leaves_the_document_stale_for_the_next_reader():
    read(Builder())
    public_documents_mark_stale()

    def build_while_someone_writes() -> Built:
        public_documents_mark_stale()  # a write committed while this build was reading
        return Built(body=b"built before the write", content_type="text/plain")

    assert read(build_while_someone_writes) == b"built before the write"  # type: ignore[arg-type]
    assert PublicDocument.objects.get(key=KEY).stale
    assert read(Builder()) == b"v1"


def test_a_build_that_fails_leaves_the_previous_bytes_up(caplog):
    read(Builder())
    public_documents_mark_stale()

    def broken() -> Built:
        raise RuntimeError("the template is broken")

    assert read(broken) == b"v1"  # type: ignore[arg-type]
    assert "Rebuilding the public document" in caplog.text
    assert PublicDocument.objects.get(key=KEY).stale


def test_a_write_marks_the_documents_stale_in_its_own_transaction():
    read(Builder())
    incident_page = "status-incident:7"
    PublicDocument.objects.create(
        key=incident_page,
        content_type="text/html",
        body=b"",
        gzipped=b"",
        etag='"x"',
        built_at=NOW,
        claimed_until=NOW,
    )
    marked_inside: list[bool] = []

    def write_then_fail() -> None:
        with transaction.atomic():
            maintenance_create(
                title="Rolled back",
                starts_at=NOW + timedelta(days=1),
                ends_at=NOW + timedelta(days=2),
            )
            marked_inside.append(PublicDocument.objects.get(key=KEY).stale)
            raise RuntimeError("the write fails after marking")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert marked_inside == [True]
    assert not PublicDocument.objects.get(key=KEY).stale
    maintenance_create(
        title="Kept", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
    )
    assert PublicDocument.objects.get(key=KEY).stale
    # Maintenance is not on an incident's own page: that one is left as it is.
    assert not PublicDocument.objects.get(key=incident_page).stale


def test_on_the_page_a_reader_gets_the_previous_bytes_while_another_process_rebuilds(
    clock, monkeypatch
):
    client = Client()
    before = client.get("/status/")
    maintenance_create(
        title="Unseen yet", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
    )
    builds: list[int] = []
    build = public_views._build_page

    def counted() -> Built:
        builds.append(1)
        return build()

    monkeypatch.setattr(public_views, "_build_page", counted)
    PublicDocument.objects.filter(key=PAGE_KEY).update(
        claimed_until=NOW + timedelta(seconds=CLAIM_SECONDS)
    )
    during = client.get("/status/")
    assert during.status_code == 200
    assert during.content == before.content
    assert during["ETag"] == before["ETag"]
    assert builds == []

    clock.shift(timedelta(seconds=CLAIM_SECONDS))
    after = client.get("/status/")
    assert b"Unseen yet" in after.content
    assert builds == [1]


def test_a_write_shows_at_once():
    client = Client()
    client.get("/status/")
    maintenance_create(
        title="Planned now", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
    )
    assert b"Planned now" in client.get("/status/").content


def test_rebuilds_that_find_nothing_new_keep_the_etag_so_repeat_visitors_get_304(clock):
    client = Client()
    first = client.get("/status/")
    clock.shift(timedelta(minutes=3))  # expired three times over: rebuilt
    again = client.get("/status/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    public_documents_mark_stale()
    clock.shift(timedelta(minutes=3))
    rebuilt = client.get("/status/")
    assert PublicDocument.objects.get(key=PAGE_KEY).built_at == NOW + timedelta(minutes=6)
    assert rebuilt["ETag"] == first["ETag"]
    assert rebuilt.content == first.content


def test_an_incident_taken_off_the_page_loses_its_kept_page():
    editor = user_with_role("editor")
    incident = IncidentFactory(started_at=NOW - timedelta(hours=1))
    incident_publish(incident=incident, user=editor)
    url = f"/status/incidents/{incident.reference}/"
    assert Client().get(url).status_code == 200
    incident_unpublish(incident=incident, user=editor)
    assert Client().get(url).status_code == 404
    assert not PublicDocument.objects.filter(key=f"status-incident:{incident.number}").exists()


def test_nothing_is_kept_for_an_incident_that_is_not_public():
    for _ in range(2):
        assert Client().get("/status/incidents/INC-999/").status_code == 404
    assert not PublicDocument.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_of_readers_at_once_on_an_expired_page_one_builds_and_the_others_serve_it(clock):
    Maintenance.objects.create(
        title="Before", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
    )
    first = Client().get("/status/")
    clock.shift(timedelta(seconds=FRESH_SECONDS + 1))
    building, release = threading.Event(), threading.Event()
    builds: list[int] = []

    def slow() -> Built:
        builds.append(1)
        building.set()
        assert release.wait(10)
        return Built(body=b"rebuilt", content_type="text/html; charset=utf-8")

    results: list[bytes] = []
    other = threading.Thread(target=lambda: results.append(read_page(slow)))
    other.start()
    try:
        assert building.wait(10), "the other process never started rebuilding"
        answers = [read_page(slow) for _ in range(3)]
    finally:
        release.set()
        other.join(10)
    assert answers == [first.content] * 3
    assert results == [b"rebuilt"]
    assert builds == [1]


def read_page(build) -> bytes:
    try:
        served = public_document(PAGE_KEY, build, gzip=False)
        assert served is not None
        return served.body
    finally:
        # Each thread has a connection of its own: close it, as a request's end does.
        if threading.current_thread() is not threading.main_thread():
            connection.close()
