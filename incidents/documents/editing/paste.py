"""A post-mortem pasted into an existing incident: any layout the importer reads, turned into
the document Edit as document applies (doctext), so it fills and updates the incident through
the same preview, identity and conflict rules. Parts the paste does not have are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model

from incidents.documents.editing.doctext import PROSE, compose
from incidents.documents.editing.sectiontext import first_day, format_rows
from incidents.documents.importer import DocumentError, Draft, parse_postmortem
from incidents.models import Incident


def _rows(drafts: Iterable[Any], make: Any) -> list[Any]:
    """Draft rows as the row-like objects the section formatter reads, children by parent_id."""
    out: list[Any] = []
    counter = iter(range(1, 1_000_000))

    def walk(draft: Any, parent: Any) -> None:
        row = make(draft)
        row.pk = next(counter)
        row.parent_id = parent.pk if parent is not None else None
        out.append(row)
        for child in getattr(draft, "children", []):
            walk(child, row)

    for draft in drafts:
        walk(draft, None)
    return out


def _item(draft: Any, users: set[str]) -> SimpleNamespace:
    detail = draft.detail
    owner = draft.owner if draft.owner in users else ""
    if draft.owner and not owner:
        # Kept readable on the item, as the import keeps it.
        note = f"Owner: @{draft.owner} (no Hindsight user by this name)"
        detail = f"{note}\n\n{detail}" if detail else note
    return SimpleNamespace(
        **{
            **vars(draft),
            "detail": detail,
            "children": [],
            "owner_id": 1 if owner else None,
            "owner": SimpleNamespace(get_username=lambda: owner) if owner else None,
        }
    )


def pasted_document(incident: Incident, data: str) -> tuple[str, list[str]]:
    """The pasted post-mortem as a document of this incident (its own title kept), and what
    the paste holds that the document does not take, for the preview to say.
    Raises incidents.documents.importer.DocumentError for what cannot be read."""
    try:
        draft: Draft = parse_postmortem(data)
    except DocumentError as error:
        if error.code != "no_title":
            raise
        draft = parse_postmortem(data, title=incident.title)
    day = first_day(incident.started_at)
    names = _owner_names(draft.action_items)
    users = set(
        get_user_model()
        ._default_manager.filter(username__in=names)
        .values_list("username", flat=True)
    )
    ns = lambda d: SimpleNamespace(**{**vars(d), "children": []})  # noqa: E731
    events = [
        SimpleNamespace(occurred_at=e.occurred_at or incident.started_at, kind=e.kind, text=e.text)
        for e in draft.timeline
    ]
    priorities = [
        SimpleNamespace(
            title=p.title,
            urgent=p.urgent,
            detail=p.detail,
            options=SimpleNamespace(all=lambda p=p: p.options),
        )
        for p in draft.priorities
    ]
    sections = {
        "timeline": format_rows(
            "timeline", _rows(sorted(events, key=lambda e: e.occurred_at), lambda e: e), day=day
        ),
        "status": format_rows("status", _rows(draft.status_items, ns), day=day),
        "causes": format_rows("causes", _rows(draft.causes, ns), day=day),
        "lessons": format_rows("lessons", _rows(draft.lessons, ns), day=day),
        "actions": format_rows(
            "actions", _rows(draft.action_items, lambda d: _item(d, users)), day=day
        ),
        "criteria": format_rows("criteria", _rows(draft.criteria, ns), day=day),
        "priorities": format_rows("priorities", _rows(priorities, lambda p: p), day=day),
        "notes": format_rows("notes", _rows(draft.final_notes, ns), day=day),
    }
    prose = {"title": incident.title, **{name: getattr(draft, name) for name in PROSE}}
    return compose(prose, sections), _left_out(incident, draft)


def _left_out(incident: Incident, draft: Draft) -> list[str]:
    """What the paste says that filling an incident does not take: the incident's own facts
    keep their controls, and messages are written and sent from the communications section."""
    facts = [
        label
        for label, value in (
            ("title", draft.title != incident.title),
            ("severity", draft.severity),
            ("status", draft.status),
            ("status line", draft.status_line),
            ("start", draft.started_at),
            ("detection", draft.detected_at),
            ("mitigation", draft.mitigated_at),
            ("end", draft.resolved_at),
            ("authors", draft.authors),
        )
        if value
    ]
    left = [f"the incident's {', '.join(facts)}"] if facts else []
    if draft.communications:
        left.append(f"{len(draft.communications)} message(s) to communicate")
    return left


def _owner_names(items: Iterable[Any]) -> set[str]:
    names: set[str] = set()
    for item in items:
        if item.owner:
            names.add(item.owner)
        names |= _owner_names(item.children)
    return names
