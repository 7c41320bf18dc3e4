"""What a section's text changes against the rows it was opened with.

Rows keep their identity. The text's rows are matched to the rows the editor opened (the same
text, parsed again, lines up with their ids): unchanged lines first, then an edited line at the
same place (or, among lines that grew or shrank, the most similar one), then a line that moved.
A matched row is an edit of that row, never a deletion and an addition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from django.core import signing
from django.db import models

from incidents.documents.editing.sectiontext import first_day, format_section, parse_section
from incidents.documents.rowtext import RowText, RowTextError
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)

TEXT_SECTIONS = (
    "timeline",
    "status",
    "causes",
    "lessons",
    "actions",
    "criteria",
    "priorities",
    "notes",
)
_SNAPSHOT_SALT = "incidents.documents.textedit"
MODELS: dict[str, type[models.Model]] = {
    "timeline": TimelineEvent,
    "status": StatusItem,
    "causes": Cause,
    "lessons": Lesson,
    "actions": ActionItem,
    "criteria": SuccessCriterion,
    "priorities": PathPriority,
    "options": SolutionOption,
    "notes": FinalNote,
}
# Fields written through their own services (a tick is a transition), not as plain edits.
TRANSITIONS = {"status", "closed_reason", "done"}
FIELD_LABELS = {
    "occurred_at": "time",
    "due_date": "due date",
    "blocks_deployments": "blocks deployments",
    "pre_existing": "pre-existing",
    "closed_reason": "won't do reason",
    "ok": "healthy",
    "status": "status",
    "done": "tick",
    "parent": "nested under",
}


def section_rows(incident: Incident, section: str) -> list[Any]:
    """The rows a section's text shows, in order. Timeline lines Hindsight wrote are not text."""
    if section == "timeline":
        return list(
            incident.timeline_events.filter(source=TimelineEvent.Source.MANUAL).order_by(
                "occurred_at", "id"
            )
        )
    if section == "priorities":
        return list(incident.priorities.prefetch_related("options").order_by("order", "id"))
    queryset = MODELS[section]._default_manager.filter(incident=incident).order_by("order", "id")
    if section == "actions":
        queryset = queryset.select_related("owner")
    return list(queryset)


@dataclass
class Opened:
    """A section's text as the editor opened it, and the rows (kind, id, version) in its order,
    signed so the form can carry them without being trusted, and bound to its incident: the rows
    are written by id, so a snapshot posted to another incident's page must not count there."""

    incident_id: int
    text: str
    rows: list[tuple[str, int, int]]

    def sign(self) -> str:
        data = {"incident": self.incident_id, "text": self.text, "rows": self.rows}
        return signing.dumps(data, salt=_SNAPSHOT_SALT)

    @classmethod
    def load(cls, raw: str, *, incident_id: int) -> Opened:
        try:
            data = signing.loads(raw, salt=_SNAPSHOT_SALT)
        except signing.BadSignature:
            raise ValueError("The form was tampered with; reload the page.") from None
        return cls.of(data, incident_id=incident_id)

    @classmethod
    def of(cls, data: dict[str, Any], *, incident_id: int) -> Opened:
        if data.get("incident") != incident_id:
            raise ValueError("This text was opened on another incident; reload the page.")
        rows = [(str(k), int(pk), int(v)) for k, pk, v in data["rows"]]
        return cls(incident_id=incident_id, text=data["text"], rows=rows)


def row_kind(section: str, row: Any) -> str:
    return "options" if isinstance(row, SolutionOption) else section


def section_open(incident: Incident, section: str) -> Opened:
    text, rows = format_section(
        section, section_rows(incident, section), day=first_day(incident.started_at)
    )
    return Opened(
        incident_id=incident.pk,
        text=text,
        rows=[(row_kind(section, r), r.pk, r.version) for r in rows],
    )


# --- Matching ------------------------------------------------------------------------------------


@dataclass
class Node:
    kind: str  # the section, or "options" under the path forward
    values: dict[str, Any]
    line: int
    parent: int | None  # index of the parent node in the same list
    pk: int | None = None
    version: int | None = None

    @property
    def key(self) -> str:
        words = self.values.get("title") or self.values.get("text") or self.values.get("label")
        return f"{self.kind}:{str(words or '').strip().lower()}"


def flatten(section: str, rows: list[RowText]) -> list[Node]:
    nodes: list[Node] = []

    def walk(row: RowText, parent: int | None, depth: int) -> None:
        kind = "options" if section == "priorities" and depth else section
        nodes.append(Node(kind, row.values, row.line, parent))
        me = len(nodes) - 1
        for child in row.children:
            walk(child, me, depth + 1)

    for row in rows:
        walk(row, None, 0)
    return nodes


def _similar(a: Node, b: Node) -> float:
    return SequenceMatcher(None, a.key, b.key, autojunk=False).ratio()


def match(old: list[Node], new: list[Node]) -> dict[int, int]:
    """new index -> old index for the rows the new text keeps."""
    pairs: dict[int, int] = {}
    matcher = SequenceMatcher(None, [n.key for n in old], [n.key for n in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.update({j1 + k: i1 + k for k in range(i2 - i1)})
        elif tag == "replace":
            if i2 - i1 == j2 - j1:
                # An edited line where a line was: that row, edited.
                pairs.update(
                    {j1 + k: i1 + k for k in range(i2 - i1) if old[i1 + k].kind == new[j1 + k].kind}
                )
                continue
            free = list(range(i1, i2))
            for j in range(j1, j2):
                scored = [(_similar(old[i], new[j]), i) for i in free if old[i].kind == new[j].kind]
                if scored:
                    score, best = max(scored)
                    if score >= 0.5:
                        pairs[j] = best
                        free.remove(best)
    # A row that moved: the same words elsewhere.
    taken = set(pairs.values())
    spare: dict[str, list[int]] = {}
    for i, node in enumerate(old):
        if i not in taken:
            spare.setdefault(node.key, []).append(i)
    for j, node in enumerate(new):
        if j not in pairs and spare.get(node.key):
            pairs[j] = spare[node.key].pop(0)
    return pairs


def _increasing(sequence: list[int]) -> set[int]:
    """The values of a longest increasing subsequence: the rows that stayed in place."""
    tails: list[int] = []
    links: dict[int, int | None] = {}
    ends: list[int] = []
    for value in sequence:
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < value:
                lo = mid + 1
            else:
                hi = mid
        links[value] = ends[lo - 1] if lo else None
        if lo == len(tails):
            tails.append(value)
            ends.append(value)
        else:
            tails[lo] = value
            ends[lo] = value
    kept: set[int] = set()
    at = ends[-1] if ends else None
    while at is not None:
        kept.add(at)
        at = links[at]
    return kept


@dataclass
class Change:
    what: str  # added, changed, moved, removed
    kind: str
    title: str
    line: int | None = None
    fields: list[str] = field(default_factory=list)
    pk: int | None = None  # the row a change or removal is of


@dataclass
class Plan:
    old: list[Node]
    new: list[Node]
    pairs: dict[int, int]
    changes: list[Change]

    @property
    def empty(self) -> bool:
        return not self.changes


def node_title(node: Node) -> str:
    words = str(node.values.get("title") or node.values.get("text") or node.values.get("label"))
    return words.split("\n", 1)[0]


def plan(section: str, opened: Opened, text: str, *, day: date, offset: int = 0) -> Plan:
    """What `text` changes against the text as it was opened. RowTextError for bad lines;
    line numbers count from `offset` + 1 (where the section starts in a whole document)."""
    old = flatten(section, parse_section(section, opened.text, day=day))
    if len(old) != len(opened.rows):
        raise ValueError("The opened text no longer lines up with its rows; reload the page.")
    for node, (kind, pk, version) in zip(old, opened.rows, strict=True):
        if kind != node.kind:
            raise ValueError("The opened text no longer lines up with its rows; reload the page.")
        node.pk, node.version = pk, version
    try:
        new = flatten(section, parse_section(section, text, day=day))
    except RowTextError as error:
        raise RowTextError([(line + offset, message) for line, message in error.errors]) from None
    for node in new:
        node.line += offset
    pairs = match(old, new)
    changes: list[Change] = []
    for j, node in enumerate(new):
        if j not in pairs:
            changes.append(Change("added", node.kind, node_title(node), node.line))
            continue
        before = old[pairs[j]]
        changed = [name for name, value in node.values.items() if before.values.get(name) != value]
        old_parent = before.parent
        new_parent = pairs.get(node.parent) if node.parent is not None else None
        if old_parent != new_parent:
            changed.append("parent")
        if changed:
            changes.append(
                Change("changed", node.kind, node_title(node), node.line, changed, before.pk)
            )
    if MODELS[section] is not TimelineEvent:
        order = [pairs[j] for j in range(len(new)) if j in pairs]
        stayed = _increasing(order)
        changes += [
            Change("moved", new[j].kind, node_title(new[j]), new[j].line)
            for j in range(len(new))
            if j in pairs and pairs[j] not in stayed
        ]
    kept = set(pairs.values())
    changes += [
        Change("removed", n.kind, node_title(n), None, pk=n.pk)
        for i, n in enumerate(old)
        if i not in kept
    ]
    return Plan(old, new, pairs, changes)
