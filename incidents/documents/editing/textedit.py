"""Applying a section's text through the rows' services, in one transaction.

The conflict rule is the rows' own: a row someone changed since the text was opened, whose
fields this text also changes (to something else than they did), is a conflict; anything else
merges. A conflicting row is held back, untouched, with both values, for its author to choose
(textresolve); every other change is written. A preview runs the very same apply and rolls it
back, so it shows every error and conflict Apply would meet. An error applies nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models

from incidents.documents.editing.held import (
    Conflict,
    changed_by,
    current_values,
    deleted_by,
    labelled,
    shown,
)
from incidents.documents.editing.textdiff import (
    FIELD_LABELS,
    MODELS,
    TRANSITIONS,
    Node,
    Plan,
    node_title,
)
from incidents.models import (
    ActionItem,
    Incident,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import Ordered
from incidents.postmortem import services


class Rollback(Exception):
    """Ends a preview's dry run."""


def owners_of(nodes: Iterable[Node]) -> dict[str, User]:
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


class SectionApplier:
    def __init__(self, incident: Incident, section: str, plan: Plan, user: User | None) -> None:
        self.incident = incident
        self.section = section
        self.plan = plan
        self.user = user
        self.errors: list[tuple[int, str]] = []
        self.conflicts: list[Conflict] = []
        self.saved: dict[int, models.Model] = {}  # new index -> row
        self.held: set[int] = set()  # new indexes of conflicting rows: nothing of them is written

    def run(self) -> None:
        plan = self.plan
        owners = owners_of(plan.new)
        for node in plan.new:
            owner = node.values.get("owner")
            if owner and owner not in owners:
                self.errors.append((node.line, f"@{owner} is not a Hindsight user."))
        if self.errors:
            return
        locked = self._lock()
        current = current_values(self.incident, self.section)
        # Parents before children: a new step needs its new item's id.
        for j, node in enumerate(plan.new):
            if j in plan.pairs:
                self._change(j, node, plan.old[plan.pairs[j]], current, locked, owners)
            else:
                self._add(j, node, owners)
        # Ticks after every write, steps before their items: an item closes once its steps do.
        for j in reversed(range(len(plan.new))):
            if j not in self.held:
                self._transition(j, plan.new[j])
        self._remove(locked)
        self._reorder()
        # A held row may have moved among its siblings in this very transaction, locked, so by
        # nobody else: "apply mine" goes on top of that, not back to a conflict with itself.
        for conflict in self.conflicts:
            if conflict.pk is not None and conflict.version is not None:
                conflict.version = (
                    MODELS[conflict.kind]
                    ._default_manager.filter(pk=conflict.pk)
                    .values_list("version", flat=True)
                    .first()
                )

    def _lock(self) -> dict[tuple[str, int], Any]:
        found: dict[tuple[str, int], Any] = {}
        for kind in {n.kind for n in self.plan.old}:
            ids = [n.pk for n in self.plan.old if n.kind == kind]
            for row in MODELS[kind]._default_manager.select_for_update().filter(pk__in=ids):
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
            if name in TRANSITIONS:
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
        seen: int | None = None,
    ) -> None:
        """Write the row's change; `seen` is the version its author chose to go on top of."""
        assert before.pk is not None
        row = locked.get((before.kind, before.pk))
        mine = [n for n, v in node.values.items() if before.values.get(n) != v]
        new_parent = self.plan.pairs.get(node.parent) if node.parent is not None else None
        if new_parent != before.parent:
            mine.append("parent")
        if row is None:
            if mine:
                self.held.add(j)
                self.conflicts.append(
                    Conflict(
                        node_title(node),
                        node.line,
                        mine,
                        {"row": "deleted"},
                        gone=True,
                        mine=labelled(node, mine),
                        kind=before.kind,
                        pk=before.pk,
                        by=deleted_by(before.kind, before.pk),
                        section=self.section,
                    )
                )
            return
        self.saved[j] = row
        now = current.get((before.kind, before.pk), {})
        # What the row already says (the same change made twice, or this text applied before)
        # is not written again: no version spent, no empty history line.
        mine = [n for n in mine if n not in now or now[n] != node.values[n]]
        if not mine:
            return
        if row.version != before.version and row.version != seen:
            clashing = [n for n in mine if n in now and now[n] != before.values.get(n)]
            if clashing:
                self.held.add(j)
                self.conflicts.append(
                    Conflict(
                        node_title(node),
                        node.line,
                        clashing,
                        {FIELD_LABELS.get(n, n): shown(now[n]) for n in clashing},
                        mine=labelled(node, clashing),
                        kind=before.kind,
                        pk=before.pk,
                        version=row.version,
                        by=changed_by(row),
                        section=self.section,
                    )
                )
                return
        names = self._assign(row, node, mine, owners)
        if not names:
            return
        try:
            self.saved[j] = services.part_save(row=row, user=self.user, fields=names)
        except ValidationError as error:
            self.errors.append((node.line, _messages(error)))

    def _add(self, j: int, node: Node, owners: dict[str, User]) -> None:
        model = MODELS[node.kind]
        values = {k: v for k, v in node.values.items() if k not in TRANSITIONS and k != "owner"}
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
        want = node.values["status"]
        reason = node.values.get("closed_reason", "")
        before = self._before(node)
        if (
            before is not None
            and before.values.get("status") == want
            and before.values.get("closed_reason") == reason
        ):
            return  # this text left the tick alone: whoever changed it keeps theirs
        row.refresh_from_db()
        if row.status == want and (
            want != ActionItem.Status.WONT_DO or row.closed_reason == reason
        ):
            return
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
        # By identity: two lines that say the same are still two rows.
        j = next(i for i, new in enumerate(self.plan.new) if new is node)
        return self.plan.old[self.plan.pairs[j]] if j in self.plan.pairs else None

    def _remove(self, locked: dict[tuple[str, int], Any]) -> None:
        kept = set(self.plan.pairs.values())
        for i in reversed(range(len(self.plan.old))):
            if i not in kept:
                self.remove_one(self.plan.old[i], locked)

    def remove_one(
        self, node: Node, locked: dict[tuple[str, int], Any], seen: int | None = None
    ) -> None:
        assert node.pk is not None
        row = locked.get((node.kind, node.pk))
        if row is None:
            return  # gone already: what this text wanted
        if row.version != node.version:
            row.refresh_from_db()
        if row.version not in (node.version, seen):
            self.conflicts.append(
                Conflict(
                    node_title(node),
                    None,
                    ["removed"],
                    {"row": "changed since you opened it"},
                    mine={"row": "removed"},
                    kind=node.kind,
                    pk=node.pk,
                    version=row.version,
                    by=changed_by(row),
                    section=self.section,
                )
            )
            return
        services.part_delete(row=row, user=self.user)

    def _reorder(self) -> None:
        """Siblings in the text's order; rows someone added meanwhile after them."""
        saved = [
            r for j in range(len(self.plan.new)) if isinstance(r := self.saved.get(j), Ordered)
        ]
        # As they are now, one query a kind of row, not one a row.
        fresh: dict[tuple[type, int], Any] = {}
        for model in {type(r) for r in saved}:
            pks = [r.pk for r in saved if type(r) is model]
            fresh.update({(model, r.pk): r for r in model._default_manager.filter(pk__in=pks)})
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for old in saved:
            row = fresh.get((type(old), old.pk))
            if row is not None:
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
