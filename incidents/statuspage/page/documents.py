"""The public documents, kept built in the database (incidents.models.PublicDocument): the one
cache layer of the public pages, so they never depend on Redis.

A reader fetches one row by key, and only the variant it will send (plain or gzipped). A row is
served as it is while it is fresh (built within FRESH_SECONDS) and not stale. A write that
changes what the public sees marks the rows it affects stale in its own transaction
(public_documents_mark_stale), so no after-commit step can fail or lag. A stale or expired row is
rebuilt by one process at a time: the reader that claims it by compare-and-set on claimed_until
builds it, the others serve the previous bytes meanwhile. With no row yet the reader builds it at
once. Rebuilding clears the stale flag when it claims, so a write during the build leaves the row
stale again and the next reader builds once more: a write is never lost behind a rebuild.

Every document is built in the organisation's zone, never in the zone of the signed-in person
whose request happened to build it: one copy for every visitor.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Field, Q
from django.utils import timezone

from incidents.models import PublicDocument

logger = logging.getLogger(__name__)

# Built documents are served this long before a reader rebuilds them: the health checks and the
# clock change what the page shows without a write that marks it stale.
FRESH_SECONDS = 10
# How long a rebuild may hold its claim: a process that dies while building holds back the
# others (who serve the previous bytes meanwhile) this long at most.
CLAIM_SECONDS = 30

PAGE_KEY = "status-page"
FEED_KEY = "status-feed:{kind}"
SUMMARY_KEY = "status-summary"
BADGE_KEY = "status-badge:{pk}"
INCIDENT_PREFIX = "status-incident:"


def incident_key(number: int) -> str:
    return f"{INCIDENT_PREFIX}{number}"


@dataclass(frozen=True)
class Built:
    """A document as its builder makes it."""

    body: bytes
    content_type: str


@dataclass(frozen=True)
class Served:
    """The variant of a document one request gets."""

    body: bytes
    content_type: str
    etag: str
    gzipped: bool


def gzipped(body: bytes) -> bytes:
    # No timestamp in the header: every process makes the same bytes from the same body.
    return gzip.compress(body, compresslevel=6, mtime=0)


def etag_of(body: bytes) -> str:
    # Strong: equal tags are equal bytes, whoever asked and whichever process built them.
    return f'"{hashlib.sha256(body).hexdigest()[:20]}"'


def gzip_etag(etag: str) -> str:
    """The gzipped variant's own tag, so a copy of one is never taken for the other."""
    return f'{etag[:-1]}-gz"'


def public_documents_mark_stale(
    *, incident_number: int | None = None, every_incident: bool = False
) -> None:
    """Mark stale every kept document but the incidents' own pages, and that of the incident
    numbered `incident_number`, if any. Called inside the transaction of the write that changes
    them: it commits or rolls back with it.

    It locks those rows until the commit, so it comes last in the transaction, after every
    other row the write locks: were one write to lock a component after marking while another
    marks after locking that component, each would wait for the other.
    """
    shared = ~Q(key__startswith=INCIDENT_PREFIX)
    if every_incident:  # what every page shows changed (e.g. Markdown rendered again)
        shared = Q()
    elif incident_number is not None:
        shared |= Q(key=incident_key(incident_number))
    PublicDocument.objects.filter(shared, stale=False).update(stale=True)


def _served(body: bytes | memoryview, content_type: str, etag: str, *, gzip: bool) -> Served:
    return Served(
        body=bytes(body),
        content_type=content_type,
        etag=gzip_etag(etag) if gzip else etag,
        gzipped=gzip,
    )


def _build(build: Callable[[], Built | None]) -> Built | None:
    with timezone.override(settings.TIME_ZONE):
        return build()


def _column(name: str) -> str:
    field = PublicDocument._meta.get_field(name)
    assert isinstance(field, Field), name  # a column of the table
    assert field.column, name
    return connection.ops.quote_name(field.column)


@functools.cache
def _select(variant: str, vendor: str) -> str:
    """The read of one kept row, for the database `vendor` (its quoting): made once."""
    body, content_type, etag, built_at, stale, claimed_until, pk = (
        _column(name)
        for name in (variant, "content_type", "etag", "built_at", "stale", "claimed_until", "key")
    )
    table = connection.ops.quote_name(PublicDocument._meta.db_table)
    return (
        f"SELECT {body}, {content_type}, {etag}, "
        f"((NOT {stale} AND {built_at} > %s) OR {claimed_until} > %s) "
        f"FROM {table} WHERE {pk} = %s"
    )


def _kept(key: str, variant: str, *, now: datetime) -> tuple[Any, str, str, bool] | None:
    """The kept row's variant, content type and ETag, and whether to serve it as it is: fresh
    (built within FRESH_SECONDS and not stale), or being rebuilt by another process whose claim
    has not run out. None when there is no row.

    The one read every public request makes, so written as SQL: building it with the ORM costs
    a request more than the whole answer from a static file does (about 0.6 ms against 0.02 ms,
    measured in process). The columns are the model's own, by name; the times are adapted for
    the database as the ORM adapts them.
    """
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _select(variant, connection.vendor),
            [adapt(now - timedelta(seconds=FRESH_SECONDS)), adapt(now), key],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2], bool(row[3]))


def kept_document(key: str, *, gzip: bool) -> Served | None:
    """The document kept under `key` in the variant asked for, if it is to be served as it is
    (see _kept); None otherwise: the caller goes on to public_document(), which builds. One
    query."""
    row = _kept(key, "gzipped" if gzip else "body", now=timezone.now())
    if row is None or not row[3]:
        return None
    return _served(row[0], row[1], row[2], gzip=gzip)


def public_document(
    key: str, build: Callable[[], Built | None], *, gzip: bool, now: datetime | None = None
) -> Served | None:
    """The document kept under `key` (built by `build()` when there is none, or rebuilt when
    stale or expired, see the module's docstring), in the variant asked for; None when `build()`
    says there is no such document (nothing is kept for it)."""
    now = now or timezone.now()
    variant = "gzipped" if gzip else "body"
    row = _kept(key, variant, now=now)
    if row is None:
        return _first_build(key, build, gzip=gzip, now=now)
    body, content_type, etag, as_it_is = row
    previous = _served(body, content_type, etag, gzip=gzip)
    if as_it_is:
        return previous  # fresh, or another process is rebuilding it
    claimed = PublicDocument.objects.filter(key=key, claimed_until__lte=now).update(
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS), stale=False
    )
    if not claimed:
        return previous  # another process claimed it since the read
    try:
        built = _build(build)
    except Exception:
        # The previous bytes stay up; the next reader tries again once the claim runs out.
        logger.exception("Rebuilding the public document %s failed; serving the previous one", key)
        PublicDocument.objects.filter(key=key).update(stale=True)
        return previous
    if built is None:
        PublicDocument.objects.filter(key=key).delete()  # gone, or no longer public
        return None
    new_etag = etag_of(built.body)
    kept = PublicDocument.objects.filter(key=key)
    if new_etag == etag and built.content_type == content_type:
        # Nothing the document shows changed: the same bytes and ETag, so repeat visitors
        # keep getting 304, and nothing large is written.
        kept.update(built_at=now, claimed_until=now)
        return previous
    zipped = gzipped(built.body)
    kept.update(
        body=built.body,
        gzipped=zipped,
        content_type=built.content_type,
        etag=new_etag,
        built_at=now,
        claimed_until=now,
    )
    return _served(zipped if gzip else built.body, built.content_type, new_etag, gzip=gzip)


def _first_build(
    key: str, build: Callable[[], Built | None], *, gzip: bool, now: datetime
) -> Served | None:
    built = _build(build)
    if built is None:
        return None
    etag = etag_of(built.body)
    zipped = gzipped(built.body)
    # Two first readers at once both build; the later write wins, both are the same document.
    PublicDocument.objects.bulk_create(
        [
            PublicDocument(
                key=key,
                content_type=built.content_type,
                body=built.body,
                gzipped=zipped,
                etag=etag,
                built_at=now,
                claimed_until=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=["content_type", "body", "gzipped", "etag", "built_at", "claimed_until"],
    )
    return _served(zipped if gzip else built.body, built.content_type, etag, gzip=gzip)
