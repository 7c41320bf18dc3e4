"""A section edited as text: what the text changes against the rows it was opened with, and
applying that through the rows' services.

Rows keep their identity. The text's rows are matched to the rows the editor opened (the same
text, parsed again, lines up with their ids): unchanged lines first, then an edited line at the
same place, then one that moved. A matched row is changed in place (its id, history, tick,
owner and due date stay), never deleted and added again.

The conflict rule is the rows' own: a row someone changed since the text was opened, whose
fields this text also changes, is a conflict; anything else merges. Previewing runs the very
same apply and rolls it back, so the preview shows every error and conflict Apply would meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models, transaction

from incidents.documents.rowtext import (
    RowText,
    RowTextError,
    first_day,
    format_section,
    parse_section,
)
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
from incidents.models.base import Ordered
from incidents.postmortem import services

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
_MODELS: dict[str, type[models.Model]] = {
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
_TRANSITIONS = {"status", "closed_reason", "done"}
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
    queryset = _MODELS[section]._default_manager.filter(incident=incident).order_by("order", "id")
    if section == "actions":
        queryset = queryset.select_related("owner")
    return list(queryset)


@dataclass
class Opened:
    """A section's text as the editor opened it, and the rows (kind, id, version) in its order,
    signed so the form can carry them without being trusted."""

    text: str
    rows: list[tuple[str, int, int]]

    def sign(self) -> str:
        return signing.dumps({"text": self.text, "rows": self.rows}, salt=_SNAPSHOT_SALT)

    @classmethod
    def load(cls, raw: str) -> Opened:
        try:
            data = signing.loads(raw, salt=_SNAPSHOT_SALT)
        except signing.BadSignature:
            raise ValueError("The form was tampered with; reload the page.") from None
        return cls(text=data["text"], rows=[(str(k), int(pk), int(v)) for k, pk, v in data["rows"]])


def _kind(section: str, row: Any) -> str:
    return "options" if isinstance(row, SolutionOption) else section


def section_open(incident: Incident, section: str) -> Opened:
    text, rows = format_section(
        section, section_rows(incident, section), day=first_day(incident.started_at)
    )
    return Opened(text=text, rows=[(_kind(section, r), r.pk, r.version) for r in rows])


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


def _flatten(section: str, rows: list[RowText]) -> list[Node]:
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


@dataclass
class Plan:
    old: list[Node]
    new: list[Node]
    pairs: dict[int, int]
    changes: list[Change]

    @property
    def empty(self) -> bool:
        return not self.changes


def _title(node: Node) -> str:
    words = str(node.values.get("title") or node.values.get("text") or node.values.get("label"))
    return words.split("\n", 1)[0]


def plan(section: str, opened: Opened, text: str, *, day: date) -> Plan:
    """What `text` changes against the text as it was opened. RowTextError for bad lines."""
    old = _flatten(section, parse_section(section, opened.text, day=day))
    if len(old) != len(opened.rows):
        raise ValueError("The opened text no longer lines up with its rows; reload the page.")
    for node, (_kind, pk, version) in zip(old, opened.rows, strict=True):
        node.pk, node.version = pk, version
    new = _flatten(section, parse_section(section, text, day=day))
    pairs = match(old, new)
    changes: list[Change] = []
    for j, node in enumerate(new):
        if j not in pairs:
            changes.append(Change("added", node.kind, _title(node), node.line))
            continue
        before = old[pairs[j]]
        changed = [name for name, value in node.values.items() if before.values.get(name) != value]
        old_parent = before.parent
        new_parent = pairs.get(node.parent) if node.parent is not None else None
        if old_parent != new_parent:
            changed.append("parent")
        if changed:
            changes.append(Change("changed", node.kind, _title(node), node.line, changed))
    if _MODELS[section] is not TimelineEvent:
        order = [pairs[j] for j in range(len(new)) if j in pairs]
        stayed = _increasing(order)
        changes += [
            Change("moved", new[j].kind, _title(new[j]), new[j].line)
            for j in range(len(new))
            if j in pairs and pairs[j] not in stayed
        ]
    kept = set(pairs.values())
    changes += [
        Change("removed", n.kind, _title(n), None) for i, n in enumerate(old) if i not in kept
    ]
    return Plan(old, new, pairs, changes)


# --- Applying ------------------------------------------------------------------------------------


@dataclass
class Conflict:
    title: str
    line: int | None
    fields: list[str]
    theirs: dict[str, str]
    gone: bool = False


class TextConflict(Exception):
    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        super().__init__(f"{len(conflicts)} rows changed meanwhile.")


class _Rollback(Exception):
    """Ends a preview's dry run."""


def _current_values(incident: Incident, section: str) -> dict[tuple[str, int], dict[str, Any]]:
    day = first_day(incident.started_at)
    text, rows = format_section(section, section_rows(incident, section), day=day)
    nodes = _flatten(section, parse_section(section, text, day=day))
    return {(_kind(section, r), r.pk): n.values for r, n in zip(rows, nodes, strict=True)}


def _owners(nodes: Iterable[Node]) -> dict[str, User]:
    names = {n.values["owner"] for n in nodes if n.values.get("owner")}
    if not names:
        return {}
    users = get_user_model()._default_manager.filter(username__in=names)
    return {u.get_username(): u for u in users}


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(
            f"{FIELD_LABELS.get(k, k).replace('__all__', '')}: {' '.join(v)}".lstrip(": ")
            for k, v in error.message_dict.items()
        )
    return " ".join(error.messages)


class _Applier:
    def __init__(self, incident: Incident, section: str, plan: Plan, user: User | None) -> None:
        self.incident = incident
        self.section = section
        self.plan = plan
        self.user = user
        self.errors: list[tuple[int, str]] = []
        self.conflicts: list[Conflict] = []
        self.saved: dict[int, models.Model] = {}  # new index -> row

    def run(self) -> None:
        plan = self.plan
        owners = _owners(plan.new)
        for node in plan.new:
            owner = node.values.get("owner")
            if owner and owner not in owners:
                self.errors.append((node.line, f"@{owner} is not a Hindsight user."))
        if self.errors:
            return
        locked = self._lock()
        current = _current_values(self.incident, self.section)
        # Parents before children: a new step needs its new item's id.
        for j, node in enumerate(plan.new):
            if j in plan.pairs:
                self._change(j, node, plan.old[plan.pairs[j]], current, locked, owners)
            else:
                self._add(j, node, owners)
        # Ticks after every write, steps before their items: an item closes once its steps do.
        for j in reversed(range(len(plan.new))):
            self._transition(j, plan.new[j])
        self._remove(locked)
        self._reorder()

    def _lock(self) -> dict[tuple[str, int], Any]:
        found: dict[tuple[str, int], Any] = {}
        for kind in {n.kind for n in self.plan.old}:
            ids = [n.pk for n in self.plan.old if n.kind == kind]
            for row in _MODELS[kind]._default_manager.select_for_update().filter(pk__in=ids):
                found[(kind, row.pk)] = row
        return found

    def _parent_field(self, kind: str) -> str | None:
        if kind == "options":
            return "priority"
        return "parent" if kind in ("causes", "actions") else None

    def _parent(self, node: Node) -> Any:
        if node.parent is None:
            return None
        return self.saved.get(node.parent)

    def _assign(
        self, row: Any, node: Node, names: Iterable[str], owners: dict[str, User]
    ) -> list[str]:
        written = []
        for name in names:
            if name in _TRANSITIONS:
                continue
            if name == "parent":
                parent_field = self._parent_field(node.kind)
                if parent_field:
                    setattr(row, parent_field, self._parent(node))
                    written.append(parent_field)
                continue
            value = node.values[name]
            if name == "owner":
                value = owners.get(value) if value else None
            setattr(row, name, value)
            written.append(name)
        return written

    def _change(
        self,
        j: int,
        node: Node,
        before: Node,
        current: dict[tuple[str, int], dict[str, Any]],
        locked: dict[tuple[str, int], Any],
        owners: dict[str, User],
    ) -> None:
        assert before.pk is not None
        row = locked.get((before.kind, before.pk))
        mine = [n for n, v in node.values.items() if before.values.get(n) != v]
        new_parent = self.plan.pairs.get(node.parent) if node.parent is not None else None
        if new_parent != before.parent:
            mine.append("parent")
        if row is None:
            if mine:
                self.conflicts.append(Conflict(_title(node), node.line, mine, {}, gone=True))
            return
        self.saved[j] = row
        if not mine:
            return
        if row.version != before.version:
            now = current.get((before.kind, before.pk), {})
            clashing = [n for n in mine if n in now and now[n] != before.values.get(n)]
            if clashing:
                theirs = {FIELD_LABELS.get(n, n): _shown(now[n]) for n in clashing}
                self.conflicts.append(Conflict(_title(node), node.line, clashing, theirs))
                return
        names = self._assign(row, node, mine, owners)
        if not names:
            return
        try:
            self.saved[j] = services.part_save(row=row, user=self.user, fields=names)
        except ValidationError as error:
            self.errors.append((node.line, _messages(error)))

    def _add(self, j: int, node: Node, owners: dict[str, User]) -> None:
        model = _MODELS[node.kind]
        values = {k: v for k, v in node.values.items() if k not in _TRANSITIONS and k != "owner"}
        row = model(**values)
        if node.kind == "options":
            parent = self._parent(node)
            if parent is None:
                return  # its priority failed; that error is shown
            row.priority = parent  # type: ignore[attr-defined]
        else:
            row.incident = self.incident  # type: ignore[attr-defined]
            if self._parent_field(node.kind) and node.parent is not None:
                parent = self._parent(node)
                if parent is None:
                    return
                row.parent = parent  # type: ignore[attr-defined]
        if "owner" in node.values:
            row.owner = owners.get(node.values["owner"]) if node.values["owner"] else None  # type: ignore[attr-defined]
        if isinstance(row, TimelineEvent):
            row.created_by = self.user if self.user and self.user.is_authenticated else None
        try:
            self.saved[j] = services.part_save(row=row, user=self.user)  # type: ignore[type-var]
        except ValidationError as error:
            self.errors.append((node.line, _messages(error)))

    def _transition(self, j: int, node: Node) -> None:
        row = self.saved.get(j)
        if row is None:
            return
        try:
            if isinstance(row, ActionItem):
                self._item_status(row, node)
            elif isinstance(row, SuccessCriterion) and self._ticked(node):
                services.criterion_set_done(criterion=row, done=node.values["done"], user=self.user)
        except services.OpenSteps as open_steps:
            names = "; ".join(step.title for step in open_steps.steps)
            self.errors.append((node.line, f"its steps are still open ({names}); tick them too."))
        except ValidationError as error:
            self.errors.append((node.line, _messages(error)))

    def _item_status(self, row: ActionItem, node: Node) -> None:
        row.refresh_from_db()
        want = node.values["status"]
        reason = node.values.get("closed_reason", "")
        if row.status == want and (
            want != ActionItem.Status.WONT_DO or row.closed_reason == reason
        ):
            return
        before = self._before(node)
        if (
            before is not None
            and before.values.get("status") == want
            and before.values.get("closed_reason") == reason
        ):
            return  # this text left the tick alone: whoever changed it keeps theirs
        if row.status != ActionItem.Status.OPEN:
            row = services.action_item_reopen(item=row, user=self.user)
        if want == ActionItem.Status.DONE:
            services.action_item_complete(item=row, user=self.user)
        elif want == ActionItem.Status.IN_PROGRESS:
            services.action_item_start(item=row, user=self.user)
        elif want == ActionItem.Status.WONT_DO:
            services.action_item_drop(item=row, user=self.user, reason=reason)

    def _ticked(self, node: Node) -> bool:
        before = self._before(node)
        return (before is None and node.values["done"]) or (
            before is not None and before.values["done"] != node.values["done"]
        )

    def _before(self, node: Node) -> Node | None:
        j = self.plan.new.index(node)
        return self.plan.old[self.plan.pairs[j]] if j in self.plan.pairs else None

    def _remove(self, locked: dict[tuple[str, int], Any]) -> None:
        kept = set(self.plan.pairs.values())
        for i in reversed(range(len(self.plan.old))):
            node = self.plan.old[i]
            if i in kept:
                continue
            assert node.pk is not None
            row = locked.get((node.kind, node.pk))
            if row is None:
                continue  # gone already: what this text wanted
            if row.version != node.version:
                row.refresh_from_db()
            if row.version != node.version:
                self.conflicts.append(
                    Conflict(
                        _title(node), None, ["removed"], {"now": "changed since you opened it"}
                    )
                )
                continue
            services.part_delete(row=row, user=self.user)

    def _reorder(self) -> None:
        """Siblings in the text's order; rows someone added meanwhile after them."""
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for j in range(len(self.plan.new)):
            row = self.saved.get(j)
            if isinstance(row, Ordered):
                row.refresh_from_db()
                key = tuple(
                    getattr(row, f.name if not isinstance(f, models.ForeignKey) else f.attname)
                    for f in (row._meta.get_field(n) for n in row.sibling_fields)
                )
                groups.setdefault((type(row), *key), []).append(row)
        for rows in groups.values():
            wanted = [r.pk for r in rows]
            siblings = list(rows[0].siblings())
            ordered = [s for pk in wanted for s in siblings if s.pk == pk] + [
                s for s in siblings if s.pk not in wanted
            ]
            for position, sibling in enumerate(ordered):
                if sibling.order != position:
                    sibling.order = position
                    services.part_save(row=sibling, user=self.user, fields=["order"])


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass
class Outcome:
    plan: Plan
    errors: list[tuple[int, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    applied: bool = False


def section_text_apply(
    *,
    incident: Incident,
    section: str,
    opened: Opened,
    text: str,
    user: User | None,
    dry_run: bool = False,
) -> Outcome:
    """Apply what `text` changes in one transaction, or (dry_run) find out what it would do and
    roll it back. Errors (with line numbers) and conflicts apply nothing."""
    day = first_day(incident.started_at)
    try:
        the_plan = plan(section, opened, text, day=day)
    except RowTextError as error:
        return Outcome(plan=Plan([], [], {}, []), errors=error.errors)
    outcome = Outcome(plan=the_plan)
    if the_plan.empty:
        return outcome
    applier = _Applier(incident, section, the_plan, user)
    try:
        with transaction.atomic():
            applier.run()
            if applier.errors or applier.conflicts or dry_run:
                raise _Rollback()
    except _Rollback:
        pass
    outcome.errors = sorted(applier.errors)
    outcome.conflicts = applier.conflicts
    outcome.applied = not (dry_run or applier.errors or applier.conflicts)
    return outcome
