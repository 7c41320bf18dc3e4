"""Reads of the marks: the page's change counter, in the one query an unchanged poll costs, and
the marks of its parts, read only when the counter moved."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from incidents.models import Incident, LiveMark
from incidents.models.incident import REFERENCE_RE


@dataclass(frozen=True)
class PartMark:
    serial: int
    by: str  # who changed it last; "" for Hindsight itself


def page_serial(reference: str) -> tuple[int, int] | None:
    """(incident id, the page's change counter); None for no such incident.

    One query, over the marks alone, once the incident has its counter row. An incident
    nobody changed since marks began gets it here, at its first poll (once, not per poll), and
    counts 0.
    """
    match = REFERENCE_RE.match(reference)
    if match is None:
        return None
    number = int(match.group(1))
    row = (
        LiveMark.objects.filter(number=number, part=LiveMark.PAGE)
        .values_list("incident_id", "serial")
        .first()
    )
    if row is not None:
        return row
    incident_id = Incident.objects.filter(number=number).values_list("pk", flat=True).first()
    if incident_id is None:
        return None
    LiveMark.objects.bulk_create(
        [LiveMark(incident_id=incident_id, number=number, part=LiveMark.PAGE)],
        ignore_conflicts=True,
    )
    return incident_id, 0


def part_marks(incident_id: int) -> dict[str, PartMark]:
    """Every part's last change, by part name (the page's own counter left out)."""
    marks = (
        LiveMark.objects.filter(incident_id=incident_id)
        .exclude(part=LiveMark.PAGE)
        .values_list("part", "serial", "changed_by")
    )
    return {part: PartMark(serial=serial, by=by) for part, serial, by in marks}


def page_live_context(reference: str) -> dict[str, object]:
    """What the page's live bar starts from, in one query. Read before the document itself: a
    change committed in between is then announced by the next poll rather than lost."""
    match = REFERENCE_RE.match(reference)
    serial = (
        LiveMark.objects.filter(number=int(match.group(1)), part=LiveMark.PAGE)
        .values_list("serial", flat=True)
        .first()
        if match
        else None
    )
    return {
        "serial": serial or 0,
        "poll_ms": int(settings.HINDSIGHT_LIVE_POLL_SECONDS * 1000),
    }
