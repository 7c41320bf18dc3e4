"""Reading an incident for export, in a fixed number of queries, and shaping the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from incidents.attachments.selectors import attachment_json, attachments_exported
from incidents.documents.export_json import postmortem_json
from incidents.documents.export_markdown import postmortem_markdown
from incidents.models import Communication, Incident
from incidents.postmortem import selectors

FORMATS = ("md", "json")
CONTENT_TYPES = {"md": "text/markdown; charset=utf-8", "json": "application/json"}


@dataclass
class Exported:
    incident: Incident
    data: str | dict[str, Any]  # Markdown text, or the JSON document as a dict
    fmt: str

    @property
    def filename(self) -> str:
        return f"{self.incident.reference}-postmortem.{self.fmt}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.fmt]

    def text(self) -> str:
        if isinstance(self.data, str):
            return self.data
        return orjson.dumps(self.data, option=orjson.OPT_INDENT_2).decode() + "\n"


def export_incident(reference: str | int, fmt: str) -> Exported:
    """The incident as `fmt` ("md" or "json"). Raises Incident.DoesNotExist, or ValueError for
    another format."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; choose md or json.")
    incident = selectors.incident_document(reference)
    communications = list(
        Communication.objects.filter(incident=incident)
        .select_related("template")
        .order_by("created_at", "id")
    )
    if fmt == "md":
        return Exported(incident, postmortem_markdown(incident, communications), fmt)
    document = postmortem_json(incident, communications)
    document["attachments"] = [attachment_json(a) for a in attachments_exported(incident)]
    return Exported(incident, document, fmt)
