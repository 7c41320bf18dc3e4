"""The status page for machines and embeds: a JSON summary and a badge per component.

The summary is shaped like the summary documents hosted status pages publish (page, status with
an indicator, components, incidents, scheduled_maintenances), so widgets written for those read
it. Groups are a separate list (`groups`), each component naming its own by `group_id`.

Both are public and read only what the page shows: components, public incidents (public_since)
with their published updates, and maintenance windows. Both are kept built like the page
(incidents.statuspage.page.public_document), so neither depends on Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from incidents.models import COMPONENT_STATUS_RANK, Component, ComponentStatus
from incidents.statuspage.page import FRESH_SECONDS, public_incidents
from incidents.statuspage.selectors import maintenance_rows, status_component_rows

BADGE_CACHE_SECONDS = FRESH_SECONDS

# indicator, description: by the worst status of any component.
INDICATORS = {
    ComponentStatus.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentStatus.UNDER_MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.DEGRADED_PERFORMANCE: ("minor", "Minor Service Outage"),
    ComponentStatus.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    ComponentStatus.MAJOR_OUTAGE: ("major", "Partial System Outage"),
}

# The badge's right half, by status: readable with white text.
BADGE_COLOURS = {
    ComponentStatus.OPERATIONAL: "#1f8a4c",
    ComponentStatus.UNDER_MAINTENANCE: "#2f6fb3",
    ComponentStatus.DEGRADED_PERFORMANCE: "#8a6d00",
    ComponentStatus.PARTIAL_OUTAGE: "#b7791f",
    ComponentStatus.MAJOR_OUTAGE: "#c0392b",
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _indicator(statuses: list[str], *, incidents: bool) -> tuple[str, str]:
    if statuses and all(s == ComponentStatus.MAJOR_OUTAGE for s in statuses):
        return "critical", "Major Service Outage"
    worst = max(statuses, key=COMPONENT_STATUS_RANK.__getitem__, default="operational")
    indicator, description = INDICATORS[ComponentStatus(worst)]
    if indicator in ("none", "maintenance") and incidents:
        # An open public incident that set no component's status is still news.
        return "minor", "An incident is being handled"
    return indicator, description


def summary_build(*, now: datetime | None = None) -> dict[str, Any]:
    """The summary document. Three queries."""
    now = now or timezone.now()
    base = settings.HINDSIGHT_BASE_URL
    page_url = base + reverse("incidents:status_page")
    components: dict[int, dict[str, Any]] = {}
    groups: dict[int, dict[str, Any]] = {}
    for row in sorted(
        status_component_rows(),
        key=lambda r: (r["group_id"] is None, r["group_order"] or 0, r["order"], r["id"]),
    ):
        if row["id"] in components:
            continue  # one row per watched check
        components[row["id"]] = {
            "id": row["id"],
            "name": row["name"],
            "status": row["status"],
            "group_id": row["group_id"],
            "position": len(components) + 1,
            "updated_at": _iso(row["status_changed_at"] or row["created_at"]),
        }
        if row["group_id"] is not None:
            group = groups.setdefault(
                row["group_id"],
                {"id": row["group_id"], "name": row["group_name"], "components": []},
            )
            group["components"].append(row["id"])
    active = [incident for incident in public_incidents(now=now) if incident.is_open]
    indicator, description = _indicator(
        [c["status"] for c in components.values()], incidents=bool(active)
    )
    incidents = []
    for incident in active:
        latest = incident.updates[0] if incident.updates else None
        incidents.append(
            {
                "id": incident.number,
                "name": incident.heading,
                "status": incident.status,
                "status_line": incident.status_line,
                "created_at": _iso(incident.started_at),
                "updated_at": _iso(latest.at if latest else incident.started_at),
                "shortlink": page_url,
                "incident_updates": [
                    {
                        "id": latest.id,
                        "status": latest.phase,
                        "subject": latest.subject,
                        "body_html": latest.body_html,
                        "created_at": _iso(latest.at),
                    }
                ]
                if latest
                else [],
            }
        )
    maintenances = [_maintenance(row, now) for row in maintenance_rows(now=now)]
    return {
        # The newest fact it reports, not when it was built: a rebuild that finds nothing new
        # makes the same bytes and ETag.
        "page": {
            "name": "Status",
            "url": page_url,
            "updated_at": _updated_at(components, incidents),
        },
        "status": {"indicator": indicator, "description": description},
        "components": list(components.values()),
        "groups": list(groups.values()),
        "incidents": incidents,
        "scheduled_maintenances": maintenances,
    }


def _updated_at(
    components: dict[int, dict[str, Any]], incidents: list[dict[str, Any]]
) -> str | None:
    # ISO strings in one zone sort as the moments they name.
    moments = [c["updated_at"] for c in components.values()]
    moments += [i["updated_at"] for i in incidents]
    return max((moment for moment in moments if moment is not None), default=None)


def _maintenance(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["title"],
        "status": "in_progress" if row["starts_at"] <= now else "scheduled",
        "service": row["service_name"],
        "scheduled_for": _iso(row["starts_at"]),
        "scheduled_until": _iso(row["ends_at"]),
    }


# --- Badges ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    name: str
    status: str

    @property
    def label(self) -> str:
        return ComponentStatus(self.status).label.lower()

    @property
    def colour(self) -> str:
        return BADGE_COLOURS[ComponentStatus(self.status)]


# Width of a character in the badge's 11px sans-serif, roughly: enough that text never spills.
CHAR_WIDTH = 7
PADDING = 10


def badge_svg(badge: Badge) -> bytes:
    """A flat two-part badge: the component's name, then its status on its colour. Everything
    typed is escaped: a name is the editor's text, shown on other people's sites."""
    name, label = escape(badge.name), escape(badge.label)
    left = len(badge.name) * CHAR_WIDTH + 2 * PADDING
    right = len(badge.label) * CHAR_WIDTH + 2 * PADDING
    width = left + right
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{name}: {label}">'
        f"<title>{name}: {label}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{badge.colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{left / 2:g}" y="14">{name}</text>'
        f'<text x="{left + right / 2:g}" y="14">{label}</text>'
        "</g></svg>"
    )
    return svg.encode()


def badge_build(component_id: int) -> Badge | None:
    """The component's name and status, or None when there is no such component. One query."""
    row = Component.objects.filter(pk=component_id).values("name", "status").first()
    return Badge(name=row["name"], status=row["status"]) if row else None
