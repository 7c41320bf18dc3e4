"""What of a proposed draft waits for the author, read from the incident page's prefetched rows."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import Incident

PROSE_LABELS = {"summary": "Summary", "impact": "Impact summary", "resolution": "Resolution"}


@dataclass(frozen=True)
class Waiting:
    events: int
    causes: int
    prose: list[tuple[str, str, str]]  # (field, label, proposed text)

    @property
    def total(self) -> int:
        return self.events + self.causes + len(self.prose)


def proposals_waiting(incident: Incident) -> Waiting:
    """Counts from the prefetched timeline and causes (incident_document): no query."""
    return Waiting(
        events=sum(e.proposed for e in incident.timeline_events.all()),
        causes=sum(c.proposed for c in incident.causes.all()),
        prose=[
            (name, label, incident.proposed_prose[name])
            for name, label in PROSE_LABELS.items()
            if name in incident.proposed_prose
        ],
    )
