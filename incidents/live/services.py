"""The marks that tell open incident pages what changed.

Every service that writes an incident or one of its rows calls live_mark_bump with the parts of
the page it changed. The mark is written after the write commits (transaction.on_commit) in its
own short transaction: it never holds a lock inside the write's, so two writes on one incident
cannot deadlock over it, and a write that rolls back marks nothing. If writing the mark fails,
the write stands and the failure is logged (robust): the page then learns of it with the next
change or a reload.

Being the one place every change passes after it commits, the bump also asks for the incident's
search document to be refreshed (incidents.insights.services).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db import models, transaction
from django.utils import timezone

from incidents.insights.services import search_document_mark_stale
from incidents.models import Incident, LiveMark, SolutionOption
from incidents.postmortem.sections import PROSE_FIELDS, SECTIONS

SUMMARY = "summary-box"
TIMELINE = "section-timeline"
ACTIONS = "section-actions"
COMMUNICATIONS = "section-communications"
VISIBILITY = "visibility"
DUPLICATE = "duplicate"
DRAFT = "draft"  # the draft-from-the-facts panel

_SECTION_OF_MODEL: dict[type[models.Model], str] = {
    section.model: f"section-{section.partial_key}" for section in SECTIONS.values()
}


def prose_part(field: str) -> str:
    return f"prose-{field}"


def incident_parts(fields: Iterable[str]) -> set[str]:
    """The parts of the page that show these fields of the incident row: each prose field has
    its own; the title, times, status and the rest are in the summary box."""
    return {prose_part(f) if f in PROSE_FIELDS else SUMMARY for f in fields}


def row_part(row: models.Model) -> str:
    return _SECTION_OF_MODEL[type(row)]


def row_incident_id(row: models.Model) -> int:
    # An option belongs to a priority of the path forward, not to the incident directly.
    if isinstance(row, SolutionOption):
        return row.priority.incident_id
    incident_id = getattr(row, "incident_id", None)
    assert isinstance(incident_id, int), f"{type(row).__name__} is no row of an incident"
    return incident_id


def live_mark_bump(
    *, incident: Incident | int, parts: Iterable[str], user: User | AnonymousUser | None
) -> None:
    """Raise the page's change counter and mark `parts` as changed by `user`, once the current
    transaction commits (at once outside one)."""
    incident_id = incident if isinstance(incident, int) else incident.pk
    by = user.get_username() if user is not None and user.is_authenticated else ""
    transaction.on_commit(
        functools.partial(_bump, incident_id, sorted(set(parts) - {LiveMark.PAGE}), by),
        robust=True,
    )


def live_mark_row(*, row: models.Model, user: User | AnonymousUser | None) -> None:
    """live_mark_bump for the section that shows `row`."""
    live_mark_bump(incident=row_incident_id(row), parts=[row_part(row)], user=user)


def _bump(incident_id: int, parts: list[str], by: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        number = Incident.objects.filter(pk=incident_id).values_list("number", flat=True).first()
        if number is None:
            return  # deleted meanwhile: no page of it is left to tell
        LiveMark.objects.bulk_create(
            [LiveMark(incident_id=incident_id, number=number, part=LiveMark.PAGE)],
            ignore_conflicts=True,
        )
        # The lock orders concurrent marks of one incident: each gets its own serial.
        page = LiveMark.objects.select_for_update().get(incident_id=incident_id, part=LiveMark.PAGE)
        serial = page.serial + 1
        LiveMark.objects.bulk_create(
            [
                LiveMark(
                    incident_id=incident_id,
                    number=number,
                    part=part,
                    serial=serial,
                    changed_by=by,
                    changed_at=now,
                )
                for part in (LiveMark.PAGE, *parts)
            ],
            update_conflicts=True,
            unique_fields=["incident", "part"],
            update_fields=["serial", "changed_by", "changed_at"],
        )
    # Every change to an incident passes here, so here its search document is asked to follow;
    # in a transaction of its own, so that a failure there never loses the mark.
    search_document_mark_stale(incident_id=incident_id)
