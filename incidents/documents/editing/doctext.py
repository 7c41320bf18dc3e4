"""The whole post-mortem as one Markdown document, edited and applied like a section's text.

The document is the title (`# `), the prose fields and every list section under the export's
`## ` headings, each section in its text syntax (sectiontext). Applying it is each section's
text applied (textedit) and the prose written by the incident's compare-and-set, all in one
transaction: the same conflict rule as single rows (a prose field someone else changed that
the document also changes is held back like a row; everything else merges), errors with their
line in the document.

The facts under the title (times, severity, status) and the communications are not in it:
they have their own controls, which check what they need to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction

from incidents.documents.editing.held import Conflict, changed_by, written_changes
from incidents.documents.editing.sectiontext import first_day
from incidents.documents.editing.textdiff import Change, Opened, plan, section_open
from incidents.documents.editing.textedit import Rollback, SectionApplier
from incidents.documents.rowtext import RowTextError
from incidents.documents.text import (
    FENCE_RE,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
    heading_words,
    looks_structural,
    wrap_verbatim,
)
from incidents.models import Incident
from incidents.postmortem import services

PROSE = ("summary", "impact", "resolution", "next_step")
# The document's parts in the export's order, under the export's headings.
PARTS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("timeline", "Timeline"),
    ("resolution", "Resolution"),
    ("status", "Current Status"),
    ("causes", "Root Cause Analysis"),
    ("lessons", "Lessons Learned"),
    ("actions", "Action Items"),
    ("priorities", "Path Forward"),
    ("criteria", "Success Criteria"),
    ("notes", "Final Notes"),
    ("next_step", "Next Step"),
)
_LABELS = {"title": "Title", **{key: title for key, title in PARTS if key in PROSE}}
_BY_HEADING = {heading_words(title): key for key, title in PARTS}
_SALT = "incidents.documents.doctext"


@dataclass
class DocOpened:
    """The document as the editor opened it: the incident's version and prose then, and each
    section's opened text with its rows."""

    incident_id: int
    version: int
    prose: dict[str, str]
    sections: dict[str, Opened]

    def sign(self) -> str:
        data = {
            "incident": self.incident_id,
            "version": self.version,
            "prose": self.prose,
            "sections": {k: [o.text, o.rows] for k, o in self.sections.items()},
        }
        return signing.dumps(data, salt=_SALT, compress=True)

    @classmethod
    def load(cls, raw: str, *, incident_id: int) -> DocOpened:
        """The signed document; bound to its incident like a section's text (Opened)."""
        try:
            data = signing.loads(raw, salt=_SALT)
        except signing.BadSignature:
            raise ValueError("The form was tampered with; reload the page.") from None
        if data.get("incident") != incident_id:
            raise ValueError("This text was opened on another incident; reload the page.")
        sections = {
            key: Opened.of(
                {"incident": incident_id, "text": text, "rows": rows}, incident_id=incident_id
            )
            for key, (text, rows) in data["sections"].items()
        }
        return cls(
            incident_id=incident_id,
            version=int(data["version"]),
            prose=data["prose"],
            sections=sections,
        )


def document_open(incident: Incident) -> tuple[str, DocOpened]:
    prose = {"title": incident.title, **{name: getattr(incident, name) for name in PROSE}}
    sections = {key: section_open(incident, key) for key, _ in PARTS if key not in PROSE}
    return compose(prose, {k: o.text for k, o in sections.items()}), DocOpened(
        incident_id=incident.pk, version=incident.version, prose=prose, sections=sections
    )


def compose(prose: dict[str, str], sections: dict[str, str]) -> str:
    """The document from its title, prose and sections' texts; empty parts are left out."""
    out = [f"# {prose['title']}"]
    for key, title in PARTS:
        body = prose.get(key, "") if key in PROSE else sections.get(key, "")
        body = body.strip("\n")
        if not body:
            continue
        if key in PROSE and looks_structural(body):
            body = wrap_verbatim(body)
        out += ["", f"## {title}", "", body]
    return "\n".join(out) + "\n"


@dataclass
class Parsed:
    title: str
    prose: dict[str, str] = field(default_factory=dict)
    sections: dict[str, tuple[str, int]] = field(default_factory=dict)  # text, line offset


def parse_document(text: str) -> Parsed:
    """Split a document into its parts; RowTextError names a heading that is no part."""
    lines = text.replace("\r\n", "\n").split("\n")
    parsed = Parsed(title="")
    errors: list[tuple[int, str]] = []
    current: str | None = None
    start = 0
    body: list[str] = []
    fence = ""
    verbatim = False

    def close() -> None:
        if current is None:
            if any(line.strip() for line in body):
                errors.append((start + 1, "text before the first ## heading; put it under one."))
            return
        chunk = "\n".join(body).strip("\n")
        if current in PROSE:
            inner = chunk.split("\n")
            if inner and inner[0].strip() == VERBATIM_OPEN and inner[-1].strip() == VERBATIM_CLOSE:
                chunk = "\n".join(inner[1:-1])
            parsed.prose[current] = chunk
        else:
            parsed.sections[current] = ("\n".join(body), start)

    for number, line in enumerate(lines, 1):
        opened_fence = FENCE_RE.match(line)
        if opened_fence and (not fence or opened_fence.group(2).startswith(fence)):
            fence = "" if fence else opened_fence.group(2)
        if line.strip() in (VERBATIM_OPEN, VERBATIM_CLOSE):
            verbatim = line.strip() == VERBATIM_OPEN
        if fence or verbatim:
            body.append(line)
            continue
        if line.startswith("# ") and not parsed.title and current is None:
            parsed.title = line[2:].strip()
            start = number
            continue
        if line.startswith("## "):
            close()
            key = _BY_HEADING.get(heading_words(line[3:]))
            if key is None:
                names = ", ".join(title for _, title in PARTS)
                errors.append((number, f"“{line[3:].strip()}” is not a part ({names})."))
            if key in parsed.prose or key in parsed.sections:
                errors.append((number, f"“{line[3:].strip()}” comes twice."))
            current, start, body = key, number, []
            continue
        body.append(line)
    close()
    if not parsed.title:
        errors.append((1, "the document starts with its title: # Title."))
    if errors:
        raise RowTextError(sorted(errors))
    return parsed


@dataclass
class DocOutcome:
    changes: list[Change] = field(default_factory=list)
    prose_changed: list[str] = field(default_factory=list)  # as the page names them
    errors: list[tuple[int, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    applied: bool = False

    @property
    def empty(self) -> bool:
        return not self.changes and not self.prose_changed

    @property
    def applied_changes(self) -> list[Change]:
        return written_changes(self.changes, self.conflicts)

    @property
    def applied_prose(self) -> list[str]:
        held = {c.title for c in self.conflicts if c.kind == "prose"}
        return [name for name in self.prose_changed if name not in held]


def document_apply(
    *,
    incident: Incident,
    opened: DocOpened,
    text: str,
    user: User | None,
    dry_run: bool = False,
    keep_missing: bool = False,
) -> DocOutcome:
    """Apply the document's difference from what was opened, holding back what conflicts; an
    error applies nothing. A part the document leaves out is emptied, unless `keep_missing`
    (a pasted document fills what it has)."""
    outcome = DocOutcome()
    try:
        parsed = parse_document(text)
    except RowTextError as error:
        outcome.errors = error.errors
        return outcome
    day = first_day(incident.started_at)
    plans = {}
    for key, section_opened in opened.sections.items():
        if key not in parsed.sections and keep_missing:
            continue
        body, offset = parsed.sections.get(key, ("", 0))
        try:
            plans[key] = plan(key, section_opened, body, day=day, offset=offset)
        except RowTextError as error:
            outcome.errors += error.errors
    prose = {"title": parsed.title, **parsed.prose}
    if not keep_missing:
        prose = {name: prose.get(name, "") for name in ("title", *PROSE)}
    changed = {
        name: value
        for name, value in prose.items()
        if value.strip() != opened.prose.get(name, "").strip()
    }
    outcome.prose_changed = [_LABELS[name] for name in changed]
    outcome.changes = [c for p in plans.values() for c in p.changes]
    if outcome.errors or outcome.empty:
        outcome.errors.sort()
        return outcome
    try:
        with transaction.atomic():
            _write(incident, opened, plans, changed, user, outcome)
            if outcome.errors or dry_run:
                raise Rollback()
    except Rollback:
        pass
    outcome.errors.sort()
    outcome.applied = not (dry_run or outcome.errors)
    return outcome


def _write(
    incident: Incident,
    opened: DocOpened,
    plans: dict[str, Any],
    changed: dict[str, str],
    user: User | None,
    outcome: DocOutcome,
) -> None:
    if changed:
        _write_prose(incident, opened, changed, user, outcome)
    for key, section_plan in plans.items():
        if section_plan.empty:
            continue
        applier = SectionApplier(incident, key, section_plan, user)
        applier.run()
        outcome.errors += applier.errors
        outcome.conflicts += applier.conflicts


def prose_conflict(fresh: Incident, name: str, mine: str) -> Conflict:
    return Conflict(
        _LABELS[name],
        None,
        [name],
        {_LABELS[name]: getattr(fresh, name)},
        mine={_LABELS[name]: mine},
        kind="prose",
        version=fresh.version,
        by=changed_by(fresh),
    )


def _write_prose(
    incident: Incident,
    opened: DocOpened,
    changed: dict[str, str],
    user: User | None,
    outcome: DocOutcome,
) -> None:
    """The prose by the incident's compare-and-set; a field both people changed is held back and
    the other fields are written on top of theirs."""
    base = {name: opened.prose.get(name, "") for name in changed}
    try:
        services.incident_update(
            incident=incident, expected_version=opened.version, user=user, base=base, **changed
        )
        return
    except ValidationError as error:
        outcome.errors.append((1, " ".join(error.messages)))
        return
    except services.StaleVersion as stale:
        clashing = stale.fields or list(changed)
    fresh = Incident.objects.get(pk=incident.pk)
    held = [n for n in clashing if getattr(fresh, n).strip() != changed[n].strip()]
    outcome.conflicts += [prose_conflict(fresh, name, changed[name]) for name in held]
    rest = {n: v for n, v in changed.items() if n not in clashing}
    if not rest:
        return
    try:
        services.incident_update(
            incident=fresh, expected_version=fresh.version, user=user, base=base, **rest
        )
    except ValidationError as error:
        outcome.errors.append((1, " ".join(error.messages)))
    except services.StaleVersion:
        # Changed yet again within this second: nothing of the prose is written this time.
        outcome.conflicts += [prose_conflict(fresh, name, rest[name]) for name in rest]
