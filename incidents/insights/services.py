"""Keeping the search documents current (incidents.insights.search reads them).

Every write to an incident or its rows reaches incidents.live.services._bump after it commits;
that calls search_document_mark_stale, which asks for one refresh through the outbox. Repeats
coalesce: while a refresh is asked for and has not started, further changes ask for none, since
the refresh reads whatever has committed by the time it runs. The refresh takes the request
(clears stale_since) before it reads, in the same transaction: a change that commits while it
reads waits for the row and then asks for a refresh of its own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Expression, F, Model, Q, Value
from django.db.models.expressions import Combinable
from django.utils import timezone

from incidents.insights.search import SEARCH_CONFIG, full_text
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SearchDocument,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from outbox.services import outbox_enqueue

REFRESH_TASK = "incidents.search_document_refresh"
# A refresh asked for this long ago and still not run was lost (its task failed, say): the next
# change asks again rather than wait on it forever.
STALE_RETRY = timedelta(minutes=5)
REBUILD_BATCH = 500

# Control characters: nothing a person means, and search's highlight markers are among them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# **Strong**, *emphasis* and `code` marks; a lone * (as in 2 * 3) stays.
_EMPHASIS = re.compile(r"\*{1,3}(?=\S)|(?<=\S)\*{1,3}|`+")

Parts = tuple[str, str, str]

# Each section's rows in the order the page shows them: (model, the path to the incident, the
# columns searched, the filter of the rows searched). Markdown is searched as written, so a link's
# address is found too; the rendered HTML would add nothing but tags to strip.
_SECTIONS: list[tuple[type[Model], str, tuple[str, ...], Q]] = [
    # "Start the post-mortem" proposals are nobody's finding until kept.
    (TimelineEvent, "incident_id", ("text",), Q(proposed=False)),
    (StatusItem, "incident_id", ("label", "detail"), Q()),
    (Cause, "incident_id", ("title", "detail"), Q(proposed=False)),
    (Lesson, "incident_id", ("text",), Q()),
    (PathPriority, "incident_id", ("title", "detail"), Q()),
    (SolutionOption, "priority__incident_id", ("title", "estimate", "detail"), Q()),
    (ActionItem, "incident_id", ("title", "detail", "closed_reason"), Q()),
    (SuccessCriterion, "incident_id", ("text",), Q()),
    (FinalNote, "incident_id", ("text",), Q()),
    # What was said to people, as sent; a withdrawn update said something wrong.
    (
        Communication,
        "incident_id",
        ("subject", "body"),
        Q(status=Communication.Status.SENT, retracted_at__isnull=True),
    ),
]
_HEADING = ("title", "status_line")
_PROSE = ("summary", "impact", "resolution", "next_step")


def plain(value: str) -> str:
    """A value as the search document holds it: without control characters, nor the marks of
    emphasis and code that would clutter a snippet."""
    if not value:
        return ""
    return _EMPHASIS.sub("", _CONTROL.sub(" ", value)).strip()


def _join(values: Iterable[str]) -> str:
    return "\n".join(text for value in values if (text := plain(value)))


def search_document_parts(incident_ids: Sequence[int]) -> dict[int, Parts]:
    """Heading, prose and rows of each incident, in one query per section whatever their
    number. Incidents that do not exist are left out."""
    parts: dict[int, Parts] = {}
    for row in Incident.objects.filter(pk__in=incident_ids).values("pk", *_HEADING, *_PROSE):
        parts[row["pk"]] = (_join(row[f] for f in _HEADING), _join(row[f] for f in _PROSE), "")
    rows: dict[int, list[str]] = defaultdict(list)
    for model, incident, columns, kept in _SECTIONS:
        found = (
            model._default_manager.filter(kept, **{f"{incident}__in": list(parts)})
            .order_by(incident, *(model._meta.ordering or []))
            .values_list(incident, *columns)
        )
        for incident_id, *values in found:
            if text := _join(values):
                rows[incident_id].append(text)
    return {pk: (heading, prose, "\n".join(rows[pk])) for pk, (heading, prose, _) in parts.items()}


def _vector(heading: Expression | F, prose: Expression | F, rows: Expression | F) -> Combinable:
    return (
        SearchVector(heading, weight="A", config=SEARCH_CONFIG)
        + SearchVector(prose, weight="B", config=SEARCH_CONFIG)
        + SearchVector(rows, weight="C", config=SEARCH_CONFIG)
    )


def search_document_mark_stale(*, incident_id: int) -> bool:
    """Ask for the incident's search document to be refreshed, unless a refresh is already
    waiting to run. Call after the change has committed. True if it asked."""
    now = timezone.now()
    with transaction.atomic():
        if not Incident.objects.filter(pk=incident_id).exists():
            return False  # deleted meanwhile: its document went with it
        SearchDocument.objects.bulk_create(
            [SearchDocument(incident_id=incident_id)], ignore_conflicts=True
        )
        asked = (
            SearchDocument.objects.filter(incident_id=incident_id)
            .filter(Q(stale_since__isnull=True) | Q(stale_since__lt=now - STALE_RETRY))
            .update(stale_since=now)
        )
        if asked:
            outbox_enqueue(task=REFRESH_TASK, kwargs={"incident_id": incident_id})
    return bool(asked)


def search_document_refresh(*, incident_id: int) -> bool:
    """Rebuild the incident's search document if a refresh was asked for and no other run has
    taken it; idempotent. True if it rebuilt the document."""
    with transaction.atomic():
        # Taking the request locks the row until commit (see the module's docstring).
        taken = SearchDocument.objects.filter(
            incident_id=incident_id, stale_since__isnull=False
        ).update(stale_since=None)
        if not taken:
            return False
        found = search_document_parts([incident_id]).get(incident_id)
        if found is None:
            return False
        heading, prose, rows = found
        vectors = {}
        if full_text():
            vectors = {
                "vector": _vector(Value(heading), Value(prose), Value(rows)),
                "heading_vector": SearchVector(Value(heading), config=SEARCH_CONFIG),
            }
        SearchDocument.objects.filter(incident_id=incident_id).update(
            heading=heading, prose=prose, rows=rows, built_at=timezone.now(), **vectors
        )
    return True


def _documents_build(ids: list[int]) -> int:
    """Build these incidents' documents anew in one transaction; how many it built. A refresh
    asked for meanwhile stays asked for: stale_since is left as it is."""
    with transaction.atomic():
        now = timezone.now()
        parts = search_document_parts(ids)
        SearchDocument.objects.bulk_create(
            [
                SearchDocument(
                    incident_id=pk, heading=heading, prose=prose, rows=rows, built_at=now
                )
                for pk, (heading, prose, rows) in parts.items()
            ],
            update_conflicts=True,
            unique_fields=["incident"],
            update_fields=["heading", "prose", "rows", "built_at"],
        )
        if full_text():
            SearchDocument.objects.filter(incident_id__in=ids).update(
                vector=_vector(F("heading"), F("prose"), F("rows")),
                heading_vector=SearchVector("heading", config=SEARCH_CONFIG),
            )
    return len(parts)


def search_documents_rebuild(*, batch_size: int = REBUILD_BATCH) -> int:
    """Build every incident's search document anew, a batch of incidents per transaction; for
    a changed SEARCH_CONFIG. Returns how many it built."""
    built = 0
    after = 0
    while True:
        ids = list(
            Incident.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return built
        built += _documents_build(ids)
        after = ids[-1]


def search_documents_sweep(*, batch_size: int = REBUILD_BATCH) -> int:
    """What the refreshes after each change can miss, a batch a run (the beat runs it each
    minute): incidents without a document (written before search documents existed, so an
    upgrade needs no command; or by bulk SQL), and refreshes asked for longer than STALE_RETRY
    ago whose task was lost. Returns how many documents it built."""
    missing = list(
        Incident.objects.filter(search_document__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    built = _documents_build(missing) if missing else 0
    lost = SearchDocument.objects.filter(stale_since__lt=timezone.now() - STALE_RETRY)
    for incident_id in lost.order_by("stale_since").values_list("incident_id", flat=True)[
        :batch_size
    ]:
        built += search_document_refresh(incident_id=incident_id)
    return built
