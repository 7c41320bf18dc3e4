"""Reads of the marks: the page's change counter, in the one query an unchanged poll costs, and
the marks of its parts, read only when the counter moved."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery

from incidents.models import Incident, LiveMark
from incidents.models.incident import REFERENCE_RE


@dataclass(frozen=True)
class PartMark:
    serial: int
    by: str  # who changed it last; "" for Hindsight itself


def page_serial(reference: str) -> tuple[int, int] | None:
    """(incident id, the page's change counter) in one query; None for no such incident. A page
    nobody changed since marks began counts 0."""
    match = REFERENCE_RE.match(reference)
    if match is None:
        return None
    counter = LiveMark.objects.filter(incident=OuterRef("pk"), part=LiveMark.PAGE).values("serial")
    row = (
        Incident.objects.filter(number=int(match.group(1)))
        .values_list("pk", Subquery(counter[:1]))
        .first()
    )
    if row is None:
        return None
    return row[0], row[1] or 0


def part_marks(incident_id: int) -> dict[str, PartMark]:
    """Every part's last change, by part name (the page's own counter left out)."""
    marks = (
        LiveMark.objects.filter(incident_id=incident_id)
        .exclude(part=LiveMark.PAGE)
        .values_list("part", "serial", "changed_by__username")
    )
    return {part: PartMark(serial=serial, by=by or "") for part, serial, by in marks}


def page_live_context(reference: str) -> dict[str, object]:
    """What the page's live bar starts from. Read before the document itself: a change committed
    in between is then announced by the next poll rather than lost."""
    found = page_serial(reference)
    return {
        "serial": found[1] if found else 0,
        "poll_ms": int(settings.HINDSIGHT_LIVE_POLL_SECONDS * 1000),
    }
