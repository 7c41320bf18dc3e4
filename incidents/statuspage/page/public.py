"""Public incidents and their history: the ones the page lists, one incident's own page, the
history pages, and the preview the team sees on its own incident page.

Only public incidents are read here (made public by a published update or by an editor), so an
internal one shows nowhere: not in the lists, not in the overall status. Each comes with its
published status-page updates (those withdrawn kept apart) and its public post-mortem.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.paginator import Page

from core.rendering import without_attachments
from incidents.models import Audience, Communication, Incident, Phase
from incidents.statuspage.page.shapes import (
    HISTORY_DAYS,
    HISTORY_PER_PAGE,
    PAST_SHOWN,
    HistoryEntry,
    PublicIncident,
    PublicPostmortem,
    PublicUpdate,
)
from incidents.statuspage.selectors import (
    public_history,
    public_incident_detail_rows,
    public_incident_rows,
)


def public_incidents(*, now: datetime, past_limit: int = PAST_SHOWN) -> list[PublicIncident]:
    """Open incidents, the `past_limit` latest resolved within HISTORY_DAYS and the latest
    resolved one, newest first, each with its published status-page updates, newest first,
    and its public post-mortem. One query."""
    return _shaped(public_incident_rows(now=now, history_days=HISTORY_DAYS, past_limit=past_limit))


def public_incident(*, number: int) -> PublicIncident | None:
    """The public incident numbered `number` with everything it published; None if there is
    none, or it is internal or a duplicate. One query."""
    incidents = _shaped(public_incident_detail_rows(number=number))
    return incidents[0] if incidents else None


def _shaped(rows: list[Mapping[str, Any]]) -> list[PublicIncident]:
    statuses = dict(Incident.Status.choices)
    phases = dict(Phase.choices)
    incidents: dict[int, PublicIncident] = {}
    # Updates that a published correction, still standing, corrects.
    corrected = {
        row["update_corrects"]
        for row in rows
        if row["update_corrects"] is not None and row["update_retracted_at"] is None
    }
    for row in rows:
        incident = incidents.get(row["number"])
        if incident is None:
            incident = incidents[row["number"]] = PublicIncident(
                number=row["number"],
                service=row["service_name"],
                status=row["status"],
                status_label=statuses.get(row["status"], row["status"]),
                status_line=row["status_line"],
                impact_html=without_attachments(row["impact_html"]),
                summary_html=without_attachments(row["public_summary_html"]),
                started_at=row["started_at"],
                resolved_at=row["resolved_at"],
            )
        if row["update_audience"] == Audience.PUBLIC_POSTMORTEM:
            postmortem = PublicPostmortem(
                id=row["update_id"],
                subject=row["update_subject"],
                body_html=without_attachments(row["update_body_html"]),
                at=row["update_at"],
                retracted_at=row["update_retracted_at"],
            )
            if postmortem.retracted_at is not None:
                incident.withdrawn_postmortems.append(postmortem)
            elif incident.postmortem is None or (postmortem.at, postmortem.id) > (
                incident.postmortem.at,
                incident.postmortem.id,
            ):
                incident.postmortem = postmortem
        elif row["update_id"] is not None:
            incident.updates.append(
                PublicUpdate(
                    id=row["update_id"],
                    phase=row["update_phase"],
                    phase_label=phases.get(row["update_phase"], "Update"),
                    subject=row["update_subject"],
                    body_html=without_attachments(row["update_body_html"]),
                    at=row["update_at"],
                    is_correction=row["update_corrects"] is not None,
                    retracted_at=row["update_retracted_at"],
                    corrected=row["update_id"] in corrected,
                )
            )
    for incident in incidents.values():
        incident.withdrawn = [u for u in incident.updates if u.retracted_at is not None]
        incident.updates = [u for u in incident.updates if u.retracted_at is None]
        incident.updates.sort(key=lambda update: (update.at, update.id), reverse=True)
        incident.withdrawn.sort(key=lambda update: (update.at, update.id), reverse=True)
    return list(incidents.values())


def public_history_page(*, page: int | str | None) -> tuple[Page, list[HistoryEntry]]:
    """One page of every public incident, newest first, in brief; a page number out of range
    gives the last page, one that is not a number the first (Paginator.get_page)."""
    rows = public_history(page=page or 1, per_page=HISTORY_PER_PAGE)
    statuses = dict(Incident.Status.choices)
    entries = [
        HistoryEntry(
            number=row["number"],
            heading=row["first_subject"] or f"Disruption to {row['service_name']}",
            service=row["service_name"],
            status=row["status"],
            status_label=statuses.get(row["status"], row["status"]),
            status_line=row["status_line"],
            started_at=row["started_at"],
            resolved_at=row["resolved_at"],
        )
        for row in rows
    ]
    return rows, entries


def public_preview(incident: Incident) -> PublicIncident:
    """The incident as the status page shows it, or would once public, for the team's own page.

    Built from the incident and its communications as they are loaded (prefetched by the
    incident page), with no query of its own.
    """
    updates = [
        PublicUpdate(
            id=c.pk,
            phase=c.phase,
            phase_label=c.get_phase_display() or "Update",
            subject=c.subject,
            body_html=without_attachments(c.body_html),
            at=c.sent_at or c.created_at,
            is_correction=c.corrects_id is not None,
        )
        for c in incident.communications.all()
        if c.audience == Audience.STATUS_PAGE
        and c.status == Communication.Status.SENT
        and c.retracted_at is None
    ]
    updates.sort(key=lambda update: (update.at, update.id), reverse=True)
    published = incident.postmortem_state == Incident.PostmortemState.PUBLISHED
    return PublicIncident(
        number=incident.number,
        service=incident.service.name,
        status=incident.status,
        status_label=incident.get_status_display(),
        status_line=incident.status_line,
        impact_html=without_attachments(incident.impact_html),
        summary_html=without_attachments(incident.summary_html) if published else "",
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        updates=updates,
    )
