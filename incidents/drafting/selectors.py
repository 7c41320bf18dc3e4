"""What of a proposed draft waits for the author, read from the incident page's prefetched rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from incidents.models import Incident

PROSE_LABELS = {"summary": "Summary", "impact": "Impact summary", "resolution": "Resolution"}
# The backslashes facts.py puts before Markdown's characters in names and subjects.
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")


def as_read(text: str) -> str:
    """A proposed Markdown text as the panel shows it before anyone keeps it: one line, read as
    plain text with its `code` (the page renders Markdown only when it is saved)."""
    return _ESCAPED.sub(r"\1", text)


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
            (name, label, as_read(incident.proposed_prose[name]))
            for name, label in PROSE_LABELS.items()
            if name in incident.proposed_prose
        ],
    )
