"""Reads of the documents feature: which incident a document was already imported as."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from deployments.models import Service
from incidents.models import Incident

SAME_TEXT = "the same document"
SAME_START = "the same service and start"


def incident_imported_before(
    *, digest: str, service: Service | None, started_at: datetime | None
) -> tuple[Incident, str] | None:
    """The incident a document seems to be already: one imported from the same text, else one
    of the same service that started at the same moment; with which of the two it is. One
    query, none when there is nothing to compare."""
    match = Q(import_digest=digest) if digest else Q()
    if service is not None and started_at is not None:
        same_start = Q(service=service, started_at=started_at)
        match = match | same_start if digest else same_start
    elif not digest:
        return None
    found = list(
        Incident.objects.filter(match)
        .only("number", "title", "import_digest")
        .order_by("number")[:20]
    )
    same_text = next((i for i in found if digest and i.import_digest == digest), None)
    if same_text is not None:
        return same_text, SAME_TEXT
    return (found[0], SAME_START) if found else None
