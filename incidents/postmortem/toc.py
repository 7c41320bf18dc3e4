"""The incident page's table of contents: each part in reading order, with how many rows it
holds, read from the rows the page already has (no query of its own).

`rows` is a CSS selector for the part's rows on the page: the page's script counts them again
after an in-place edit, so the numbers follow a row added or deleted without a reload. The
count here and that selector must agree; the browser tests check they do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Field

from incidents.models import Incident


@dataclass(frozen=True)
class TocEntry:
    anchor: str
    label: str
    count: int | None = None  # None: a text, not a list of rows
    rows: str = ""


def _grouped(context: Mapping[str, Any], name: str) -> int:
    """Rows in a `(value, label, rows)` or `(label, rows)` grouping of document_context."""
    return sum(len(group[-1]) for group in context.get(name, ()))


def _timeline_count(context: Mapping[str, Any]) -> int:
    rows: Callable[[], list[Any]] | None = context.get("timeline_rows")
    if rows is None:
        return 0
    can_edit = bool(context.get("can_edit"))
    # As the timeline partial draws them: a hidden line only for editors.
    return sum(
        1
        for row in rows()
        if getattr(row, "merged", False) or can_edit or not getattr(row, "hidden", False)
    )


def _label(name: str) -> str:
    field = Incident._meta.get_field(name)
    assert isinstance(field, Field), name
    return str(field.verbose_name).capitalize()


def toc_entries(context: Mapping[str, Any]) -> list[TocEntry]:
    incident: Incident = context["incident"]
    return [
        TocEntry("prose-impact", _label("impact")),
        TocEntry("prose-summary", _label("summary")),
        TocEntry(
            "section-timeline",
            "What happened",
            _timeline_count(context),
            "#section-timeline ol.timeline > li",
        ),
        TocEntry("section-system", "Deployments and health"),
        TocEntry("prose-resolution", _label("resolution")),
        TocEntry(
            "section-status",
            "Current status",
            _grouped(context, "status_sections"),
            "#section-status .status-items > li",
        ),
        TocEntry(
            "section-causes",
            "Root cause analysis",
            _grouped(context, "cause_sections"),
            "#section-causes ol.causes > li",
        ),
        TocEntry(
            "section-lessons",
            "Lessons",
            _grouped(context, "lesson_sections"),
            "#section-lessons ol.lessons > li",
        ),
        TocEntry(
            "section-actions",
            "Action items",
            _grouped(context, "action_groups"),
            "#section-actions ul.action-items > li",
        ),
        TocEntry(
            "section-priorities",
            "Path forward",
            len(incident.priorities.all()),
            "#section-priorities .priority",
        ),
        TocEntry(
            "section-communications",
            "Communications",
            len(incident.communications.all()),
            "#section-communications ol.communications > li",
        ),
        TocEntry(
            "section-criteria",
            "Success criteria",
            _grouped(context, "criteria_groups"),
            "#section-criteria ul.criteria > li",
        ),
        TocEntry(
            "section-notes",
            "Final notes",
            _grouped(context, "final_sections"),
            "#section-notes > ol > li",
        ),
        TocEntry("prose-next_step", _label("next_step")),
    ]
