"""The rows a text held back, resolved one at a time: keep theirs, or apply mine on top.

Applying a text writes every change that does not conflict and holds back each row (or prose
field) someone else changed that the text also changes. The page carries, signed, the text as
it was applied, what it was opened from, and each held row with the version theirs was at when
shown. "Apply mine" writes this text's values to that row through its service, on top of exactly
that version: if theirs changed again since, the row is shown again with its new value instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction

from incidents.documents.editing import doctext
from incidents.documents.editing.held import Conflict, current_values
from incidents.documents.editing.sectiontext import first_day
from incidents.documents.editing.textdiff import MODELS, Opened, Plan, plan
from incidents.documents.editing.textedit import SectionApplier, owners_of
from incidents.documents.rowtext import RowTextError
from incidents.models import Incident
from incidents.postmortem import services

_SALT = "incidents.documents.textresolve"
DOCUMENT = "document"


@dataclass
class Pending:
    """What a partly applied text left to choose. `mode` is the section, or "document"; a choice
    counts only on the incident and page it was made for."""

    incident: int
    mode: str
    opened: str  # the signed Opened (a section) or DocOpened (the document) it was applied from
    text: str
    keep_missing: bool
    conflicts: list[Conflict] = field(default_factory=list)

    def sign(self) -> str:
        data = {
            "incident": self.incident,
            "mode": self.mode,
            "opened": self.opened,
            "text": self.text,
            "keep_missing": self.keep_missing,
            "conflicts": [asdict(c) for c in self.conflicts],
        }
        return signing.dumps(data, salt=_SALT, compress=True)

    @classmethod
    def load(cls, raw: str, *, incident: Incident, mode: str) -> Pending:
        try:
            data = signing.loads(raw, salt=_SALT)
        except signing.BadSignature:
            raise ValueError("The form was tampered with; reload the page.") from None
        if (data["incident"], data["mode"]) != (incident.pk, mode):
            raise ValueError("These choices belong to another page; reload this one.")
        return cls(
            incident=data["incident"],
            mode=data["mode"],
            opened=data["opened"],
            text=data["text"],
            keep_missing=data["keep_missing"],
            conflicts=[Conflict(**c) for c in data["conflicts"]],
        )


@dataclass
class Resolved:
    pending: Pending
    errors: list[str] = field(default_factory=list)


def text_conflict_resolve(
    *, incident: Incident, pending: Pending, index: int, mine: bool, user: User | None
) -> Resolved:
    """Keep theirs (nothing is written) or apply mine for the held row at `index`. What is still
    held comes back, with the row again (theirs now) if it changed since it was shown."""
    if not 0 <= index < len(pending.conflicts):
        raise ValueError("That row is not waiting for a choice any more; reload the page.")
    rest = [c for i, c in enumerate(pending.conflicts) if i != index]
    result = Resolved(
        Pending(pending.incident, pending.mode, pending.opened, pending.text, pending.keep_missing)
    )
    if not mine:
        result.pending.conflicts = rest
        return result
    conflict = pending.conflicts[index]
    with transaction.atomic():
        if conflict.kind == "prose":
            again = _prose(incident, pending, conflict, user)
            errors: list[str] = []
        else:
            again, errors = _row(incident, pending, conflict, user)
        if errors:
            transaction.set_rollback(True)
            again = [conflict]
    result.errors = errors
    result.pending.conflicts = [*rest[:index], *again, *rest[index:]]
    return result


def _prose(
    incident: Incident, pending: Pending, conflict: Conflict, user: User | None
) -> list[Conflict]:
    name = conflict.fields[0]
    parsed = doctext.parse_document(pending.text)
    value = parsed.title if name == "title" else parsed.prose.get(name, "")
    fresh = Incident.objects.get(pk=incident.pk)
    changes: dict[str, Any] = {name: value}
    try:
        # No base: any write since it was shown makes it a conflict again, with their new text.
        services.incident_update(
            incident=fresh, expected_version=conflict.version or 0, user=user, **changes
        )
    except services.StaleVersion:
        return [doctext.prose_conflict(Incident.objects.get(pk=incident.pk), name, value)]
    return []


def _section_plan(incident: Incident, pending: Pending, section: str) -> Plan:
    day = first_day(incident.started_at)
    if pending.mode != DOCUMENT:
        return plan(
            section, Opened.load(pending.opened, incident_id=incident.pk), pending.text, day=day
        )
    opened = doctext.DocOpened.load(pending.opened, incident_id=incident.pk)
    body, offset = doctext.parse_document(pending.text).sections.get(section, ("", 0))
    return plan(section, opened.sections[section], body, day=day, offset=offset)


def _row(
    incident: Incident, pending: Pending, conflict: Conflict, user: User | None
) -> tuple[list[Conflict], list[str]]:
    section = conflict.section
    try:
        the_plan = _section_plan(incident, pending, section)
    except RowTextError:
        raise ValueError("The text no longer reads as it did; re-open it.") from None
    applier = SectionApplier(incident, section, the_plan, user)
    old = next(
        (i for i, n in enumerate(the_plan.old) if (n.kind, n.pk) == (conflict.kind, conflict.pk)),
        None,
    )
    if old is None:
        raise ValueError("That row is not in the text any more; re-open it.")
    assert conflict.pk is not None
    model = MODELS[conflict.kind]._default_manager
    row = model.select_for_update().filter(pk=conflict.pk).first()
    locked: dict[tuple[str, int], Any] = {(conflict.kind, conflict.pk): row} if row else {}
    j = next((j for j, i in the_plan.pairs.items() if i == old), None)
    if j is None:
        applier.remove_one(the_plan.old[old], locked, seen=conflict.version)
        return applier.conflicts, []
    node = the_plan.new[j]
    # Its parent as the text has it: a row the text kept, found by the id it was opened with.
    if node.parent is not None:
        parent = the_plan.pairs.get(node.parent)
        found = None
        if parent is not None:
            pk = the_plan.old[parent].pk
            found = MODELS[the_plan.old[parent].kind]._default_manager.filter(pk=pk).first()
        if found is None:
            return [], [
                f"“{conflict.title}” sits under a row that is new or gone; re-open the text."
            ]
        applier.saved[node.parent] = found
    owners = owners_of([node])
    if row is None:
        applier._add(j, node, owners)
    else:
        current = current_values(incident, section)
        applier._change(j, node, the_plan.old[old], current, locked, owners, seen=conflict.version)
    if j not in applier.held:
        applier._transition(j, node)
    errors = [message for _line, message in applier.errors]
    return applier.conflicts, errors


def still_held(conflicts: list[Conflict]) -> str:
    """The line that says what waits for a choice."""
    if not conflicts:
        return ""
    people = sorted({c.by for c in conflicts if c.by}) or ["someone else"]
    rows = "1 row" if len(conflicts) == 1 else f"{len(conflicts)} rows"
    return f"{rows} changed by {', '.join(people)} since you opened it: choose yours or keep theirs"
