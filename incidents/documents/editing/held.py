"""What applying a text holds back: the rows (and prose fields) someone else changed since the
text was opened that the text also changes, each with this text's value beside theirs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from incidents.documents.editing.sectiontext import first_day, format_section, parse_section
from incidents.documents.editing.textdiff import (
    FIELD_LABELS,
    MODELS,
    Change,
    Node,
    flatten,
    row_kind,
    section_rows,
)
from incidents.models import Incident


@dataclass
class Conflict:
    """A row (or a prose field, kind "prose") held back: this text's value beside theirs, and the
    version theirs is at, which "apply mine" goes on top of and nothing newer."""

    title: str
    line: int | None
    fields: list[str]
    theirs: dict[str, str]
    gone: bool = False
    mine: dict[str, str] = field(default_factory=dict)
    kind: str = ""
    pk: int | None = None
    version: int | None = None
    by: str = ""
    section: str = ""


def current_values(incident: Incident, section: str) -> dict[tuple[str, int], dict[str, Any]]:
    day = first_day(incident.started_at)
    text, rows = format_section(section, section_rows(incident, section), day=day)
    nodes = flatten(section, parse_section(section, text, day=day))
    return {(row_kind(section, r), r.pk): n.values for r, n in zip(rows, nodes, strict=True)}


def changed_by(row: Any) -> str:
    """Who wrote the row last, as the page names people."""
    return _named(row.history.order_by("-history_id"))


def deleted_by(kind: str, pk: int) -> str:
    """Who deleted a row: its history outlives it."""
    return _named(MODELS[kind].history.filter(id=pk).order_by("-history_id"))  # type: ignore[attr-defined]


def _named(history: Any) -> str:
    latest = history.select_related("history_user").first()
    user = latest.history_user if latest is not None else None
    return user.get_username() if user is not None else "someone"


def labelled(node: Node, names: Iterable[str]) -> dict[str, str]:
    return {FIELD_LABELS.get(n, n): shown(node.values.get(n)) for n in names if n != "parent"}


def shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def written_changes(changes: list[Change], conflicts: list[Conflict]) -> list[Change]:
    held = {(c.kind, c.pk) for c in conflicts}
    return [
        c for c in changes if c.what == "added" or c.what == "moved" or (c.kind, c.pk) not in held
    ]
