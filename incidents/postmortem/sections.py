"""The editable sections of a post-mortem: which model holds each, and which fields people edit.

One table drives the add / edit / delete / move views, their forms and their URLs, so every
section behaves the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel, Ordered


@dataclass(frozen=True)
class Section:
    key: str  # in URLs and element ids: /incidents/INC-1/causes/3/edit, #section-causes
    model: type[MarkdownModel]
    fields: tuple[str, ...]
    noun: str  # "cause", for buttons: "Add cause"
    # The section partial that shows this model's rows (options live inside path forward).
    template_key: str = ""

    @property
    def ordered(self) -> bool:
        return issubclass(self.model, Ordered)

    @property
    def partial_key(self) -> str:
        """The section partial (and its element id) that shows these rows."""
        return self.template_key or self.key

    @property
    def partial(self) -> str:
        return f"incidents/sections/{self.partial_key}.html"


SECTIONS: dict[str, Section] = {
    s.key: s
    for s in (
        Section("timeline", TimelineEvent, ("occurred_at", "kind", "text", "deployment"), "event"),
        Section(
            "status",
            StatusItem,
            ("kind", "label", "detail", "ok", "warning", "pre_existing"),
            "line",
        ),
        Section(
            "causes",
            Cause,
            ("kind", "category", "title", "detail", "parent", "deployment"),
            "cause",
        ),
        Section("lessons", Lesson, ("kind", "text"), "lesson"),
        Section(
            "actions",
            ActionItem,
            (
                "title",
                "horizon",
                "priority",
                "kind",
                "owner",
                "due_date",
                "blocks_deployments",
                "detail",
                "parent",
            ),
            "action item",
        ),
        Section("criteria", SuccessCriterion, ("group", "text"), "criterion"),
        Section("priorities", PathPriority, ("title", "urgent", "detail"), "priority"),
        Section(
            "options",
            SolutionOption,
            ("priority", "label", "title", "estimate", "detail", "chosen"),
            "option",
            template_key="priorities",
        ),
        Section("notes", FinalNote, ("kind", "text"), "note"),
    )
}

# The incident row's own fields, edited in place with compare-and-set on its version.
PROSE_FIELDS = ("summary", "impact", "resolution", "next_step")
DETAIL_FIELDS = (
    "title",
    "severity",
    "status_line",
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
)
