"""An incident's facts as plain values, for the template sandbox.

Only dicts, strings, numbers, booleans, datetimes and lists of them: no model instance reaches a
template, so a placeholder can never walk from a value to the database. A public audience gets
the public facts alone (incidents.communications.placeholders); the internal ones are not
computed for it at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from core import durations
from deployments import selectors as system
from incidents.communications.placeholders import PLACEHOLDERS, is_public
from incidents.models import ActionItem, Cause, Incident

_OPEN_ITEMS = ActionItem.OPEN_STATUSES


def duration_words(value: timedelta | None) -> str:
    """A span as a message says it: "about 16 minutes". Empty for None (still open)."""
    return "" if value is None else durations.duration_words(value, about=True)


def span_words(start: datetime, end: datetime | None) -> str:
    """ "from 06:02 to 06:18 UTC"; across midnight "from 23:50 UTC on January 2 to 00:10 UTC on
    January 3", and the years too when they differ. Empty while it is open."""
    if end is None:
        return ""
    start, end = timezone.localtime(start), timezone.localtime(end)
    if start.date() == end.date():
        return f"from {start:%H:%M} to {end:%H:%M %Z}"
    day = "%B %-d, %Y" if start.year != end.year else "%B %-d"
    return f"from {start:%H:%M %Z} on {start:{day}} to {end:%H:%M %Z} on {end:{day}}"


def affected_components(incident: Incident) -> list[str]:
    """The health checks that failed around the incident, in the checks' order."""
    bracketing = system.snapshots_bracketing(
        service=incident.service, start=incident.started_at, end=incident.resolved_at
    )
    return list(dict.fromkeys(failure.name for failure in bracketing.failing))


def public_facts(incident: Incident) -> dict[str, Any]:
    return {
        "service": incident.service.name,
        "service_url": incident.service.public_url,
        "started_at": incident.started_at,
        "ended_at": incident.resolved_at,
        "duration": duration_words(incident.duration),
        "span": span_words(incident.started_at, incident.resolved_at),
        "severity": incident.get_severity_display(),
        "status": incident.get_status_display(),
        "is_resolved": not incident.is_open,
        "impact": incident.impact,
        "status_line": incident.status_line,
        "next_step": incident.next_step,
        "components": affected_components(incident),
        "status_page_url": f"{settings.HINDSIGHT_BASE_URL}/status/",
    }


def internal_facts(incident: Incident) -> dict[str, Any]:
    # A cause the draft from the facts proposed is nobody's word yet: no message states it.
    causes = list(incident.causes.filter(proposed=False).order_by("order", "id"))
    # Top-level items: their steps are detail for the incident page, not for a summary.
    items = list(
        incident.action_items.filter(parent__isnull=True)
        .select_related("owner")
        .order_by("order", "id")
    )
    return {
        "reference": incident.reference,
        "title": incident.title,
        "incident_url": settings.HINDSIGHT_BASE_URL
        + reverse("incidents:detail", args=[incident.reference]),
        "summary": incident.summary,
        "resolution": incident.resolution,
        "postmortem_state": incident.get_postmortem_state_display(),
        "detected_at": incident.detected_at,
        "mitigated_at": incident.mitigated_at,
        "time_to_detect": duration_words(incident.time_to_detect),
        "time_to_mitigate": duration_words(incident.time_to_mitigate),
        "root_cause": "; ".join(
            c.title for c in causes if c.kind == Cause.Kind.PRIMARY and c.parent_id is None
        ),
        "causes": [
            {"kind": c.get_kind_display(), "title": c.title, "detail": c.detail} for c in causes
        ],
        "contributing_factors": [
            c.title for c in causes if c.kind == Cause.Kind.CONTRIBUTING and c.parent_id is None
        ],
        "action_items": [
            {
                "title": item.title,
                "owner": item.owner.get_username() if item.owner else "",
                "due_date": item.due_date,
                "status": item.get_status_display(),
                "blocks_deployments": item.blocks_deployments,
            }
            for item in items
        ],
        "open_action_items": sum(item.status in _OPEN_ITEMS for item in items),
        "blocking_action_items": sum(
            item.status in _OPEN_ITEMS and item.blocks_deployments for item in items
        ),
        "lessons": list(incident.lessons.order_by("order", "id").values_list("text", flat=True)),
        "notes": list(incident.final_notes.order_by("order", "id").values_list("text", flat=True)),
        "authors": sorted(user.get_username() for user in incident.authors.all()),
    }


def incident_facts(incident: Incident, *, audience: str) -> dict[str, Any]:
    """Every fact a template for `audience` may read, and nothing else."""
    facts = public_facts(incident)
    if not is_public(audience):
        facts |= internal_facts(incident)
    documented = {placeholder.name for placeholder in PLACEHOLDERS}
    # A fact without its documentation would be a placeholder no check knows about.
    assert set(facts) <= documented, set(facts) - documented
    return facts
