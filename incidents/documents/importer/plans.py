"""Readers of the sections that say what happens next: action items (lists, tables and
sub-headings, grouped by horizon) and success criteria. The path forward and communications
are in forward.py."""

from __future__ import annotations

import re

from incidents.documents.importer import fields as f
from incidents.documents.importer.blocks import Block, Item, Section, parse_blocks
from incidents.documents.importer.draft import (
    CriterionDraft,
    ItemDraft,
)
from incidents.documents.importer.headings import classify, horizon_of, label_of
from incidents.documents.importer.items import bold_title, item_meta, leading_mark
from incidents.documents.importer.reader import Handler, Reader
from incidents.documents.text import (
    WONT_DO_REASON,
    fit,
    heading_asides,
    heading_title,
    heading_words,
    plain_heading,
    repair_mojibake,
)
from incidents.models import ActionItem, Horizon

# --- Action items ------------------------------------------------------------------------------


def _item(item: Item, *, horizon: str, done: bool, parent: ItemDraft | None = None) -> ItemDraft:
    mark, text = leading_mark(item.text)
    meta = item_meta(text)
    title = meta.title
    bold = bold_title(title)
    if bold and not bold[1]:
        title = bold[0]
    title, cut = fit(title, 300)
    status: str = ActionItem.Status.OPEN
    if item.checked or mark or done:
        status = ActionItem.Status.DONE
    status = meta.status or status
    detail = item.detail()
    reason = ""
    if status == ActionItem.Status.WONT_DO:
        reason, detail = _wont_do_reason(detail)
    if cut:
        detail = "\n\n".join(p for p in (meta.title, detail) if p)
    draft = ItemDraft(
        title=title or "(untitled)",
        detail=detail,
        status=status,
        closed_reason=reason,
        priority=meta.priority or (parent.priority if parent else ActionItem.Priority.P2),
        kind=meta.kind or (parent.kind if parent else ActionItem.Kind.PREVENT),
        horizon=meta.horizon or horizon,
        owner=meta.owner,
        due_date=meta.due,
        blocks_deployments=meta.blocks,
    )
    draft.children = [
        _item(child, horizon=draft.horizon, done=done, parent=draft) for child in item.children
    ]
    return draft


def _wont_do_reason(detail: str) -> tuple[str, str]:
    """A won't do item's reason and the rest of its detail: the exporter opens the quote with
    "Won't do: <reason>" on one line. A detail that does not open so has no reason in it."""
    first, _, rest = detail.partition("\n")
    if not first.startswith(WONT_DO_REASON) or not first[len(WONT_DO_REASON) :].strip():
        return "", detail
    return first[len(WONT_DO_REASON) :].strip(), rest.removeprefix("\n")


def _count(rows: list) -> int:
    return sum(1 + _count(row.children) for row in rows)


_COLUMNS = {
    "title": ("action item", "action items", "action", "item", "task", "description", "what"),
    "kind": ("type", "kind", "category"),
    "owner": ("owner", "owners", "assignee", "who", "assigned to"),
    "priority": ("priority", "pri"),
    "due": ("due", "due date", "deadline", "when", "target date"),
    "status": ("status", "state", "done"),
}


_DONE_MARK_RE = re.compile(r"\s*(\*\*done\*\*|\(done\)|\[done\])", re.I)


def _table_items(block: Block, horizon: str) -> list[ItemDraft]:
    header = [heading_words(cell) for cell in block.rows[0]]
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        role = next((r for r, names in _COLUMNS.items() if name in names), None)
        if role and role not in columns:
            columns[role] = index
    columns.setdefault("title", 0)
    items = []
    for row in block.rows[1:]:
        cell = {role: row[i] if i < len(row) else "" for role, i in columns.items()}
        meta = item_meta(cell["title"])
        extra = [
            f"{block.rows[0][i]}: {value}"
            for i, value in enumerate(row)
            if value and i not in columns.values() and i < len(block.rows[0])
        ]
        status = f.ITEM_STATUSES.get(cell.get("status", "").strip(" *_").lower(), meta.status)
        # The SRE template marks a finished item with **DONE** in whichever cell.
        done_mark = [e for e in extra if _DONE_MARK_RE.search(e)]
        if done_mark:
            status = status or ActionItem.Status.DONE
            extra = [_DONE_MARK_RE.sub("", e).strip() for e in extra]
        owner = cell.get("owner", "").strip(" @*_`") or meta.owner
        items.append(
            ItemDraft(
                title=fit(meta.title, 300)[0] or "(untitled)",
                detail="\n".join(extra),
                status=status or ActionItem.Status.OPEN,
                priority=f.PRIORITIES.get(cell.get("priority", "").strip().lower(), meta.priority)
                or ActionItem.Priority.P2,
                kind=f.ACTION_KINDS.get(cell.get("kind", "").strip(" *_").lower(), meta.kind)
                or ActionItem.Kind.PREVENT,
                horizon=horizon,
                owner=owner,
                due_date=f.parse_date(cell.get("due", "")) or meta.due,
            )
        )
    return items


def _heading_item(reader: Reader, section: Section, horizon: str, done: bool) -> None:
    """A sub-heading under action items is an item: its lists are its steps, the rest of its
    text its detail."""
    mark, _ = leading_mark(repair_mojibake(section.heading))
    meta = item_meta(heading_title(section.heading))
    title, _ = fit(meta.title, 300)
    draft = ItemDraft(
        title=title or "(untitled)",
        status=meta.status or (ActionItem.Status.DONE if mark or done else ActionItem.Status.OPEN),
        priority=meta.priority or ActionItem.Priority.P2,
        kind=meta.kind or ActionItem.Kind.PREVENT,
        horizon=meta.horizon or horizon,
        owner=meta.owner,
        due_date=meta.due,
        blocks_deployments=meta.blocks,
    )
    details = []
    for block in parse_blocks(section.body):
        if block.kind == "list":
            draft.children += [
                _item(i, horizon=horizon, done=done, parent=draft) for i in block.items
            ]
        elif block.kind != "rule":
            details.append(block.raw())
    draft.detail = "\n\n".join(details)
    for child in section.children:
        details.append(child.raw())
        draft.detail = "\n\n".join(details)
    reader.draft.action_items.append(draft)
    reader.report.count("Action items", 1 + _count(draft.children))


def group_horizon(text: str) -> str | None:
    """The horizon a to-do list's group label names ("Today", "**This week (next 2-3
    hours):**"), by exact phrase: an item that merely mentions "today" is not a group."""
    key = label_of(text.strip(), "actions")
    return key.split(":", 1)[1] if key and key.startswith("horizon:") else None


def _list_rows(reader: Reader, items: list[Item], horizon: str, done: bool) -> list[ItemDraft]:
    rows = []
    for item in items:
        group = group_horizon(leading_mark(item.text)[1]) if item.children else None
        if group is None:
            rows.append(_item(item, horizon=horizon, done=done))
            continue
        # A group label inside the list, its items nested under it: a horizon, not an item.
        reader.keep_asides(item.text, "actions")
        rows += _list_rows(reader, item.children, group, done)
    return rows


def actions(reader: Reader, section: Section, key: str) -> None:
    horizon = key.split(":", 1)[1] if key.startswith("horizon:") else None
    horizon = horizon or horizon_of(section.heading) or Horizon.THIS_WEEK
    done = (
        "done" in heading_asides(section.heading).split()
        or "done" in heading_words(section.heading).split()
    )
    current = horizon
    for block in parse_blocks(section.body):
        label = block.lines[0] if len(block.lines) == 1 and not block.value else ""
        group = group_horizon(label) if block.kind in ("paragraph", "field") else None
        if group is not None:
            # "**Today:**" on its own line: the items after it, up to the next label, are for
            # that horizon.
            current = group
            reader.keep_asides(label, "actions")
            continue
        if block.kind == "list":
            rows = _list_rows(reader, block.items, current, done)
        elif block.kind == "table":
            rows = _table_items(block, current)
        elif block.kind == "field":
            reader.field(block, reader.here())
            continue
        elif block.kind == "rule":
            continue
        else:
            reader.unrecognized(reader.here(), block.raw())
            continue
        reader.draft.action_items.extend(rows)
        reader.report.count("Action items", _count(rows))
    for child in section.children:
        child_key = classify(child.heading, "actions")
        if child_key and child_key.startswith("horizon:"):
            _within(reader, child, child_key, actions)
        else:
            reader.trail.append(plain_heading(child.heading))
            _heading_item(reader, child, horizon, done)
            reader.trail.pop()


# --- Success criteria --------------------------------------------------------------------------


def criteria(reader: Reader, section: Section, key: str) -> None:
    group = key.split(":", 1)[1] if key.startswith("horizon:") else None
    group = group or horizon_of(section.heading) or Horizon.BEFORE_NEXT_DEPLOYMENT
    for block in parse_blocks(section.body):
        if block.kind == "list":
            _criteria(reader, block.items, group)
        elif block.kind == "field":
            reader.field(block, reader.here())
        elif block.kind != "rule":
            reader.unrecognized(reader.here(), block.raw())
    for child in section.children:
        child_key = classify(child.heading, "criteria")
        if child_key and child_key.startswith("horizon:"):
            _within(reader, child, child_key, criteria)
        else:
            reader.section(child, "criteria")


# A module function, not a closure that calls itself: such a closure is a reference cycle that
# keeps the reader and the whole draft alive until the garbage collector's next full pass.
def _criteria(reader: Reader, items: list[Item], group: str) -> None:
    for item in items:
        mark, text = leading_mark(item.text)
        text = "\n".join(p for p in (text or item.text, item.detail()) if p)
        if not text.strip():
            _criteria(reader, item.children, group)
            continue
        short, cut = fit(text, 500)
        if cut:
            # Kept whole as a note; the criterion holds what fits.
            reader.unrecognized(reader.here(), item.full_text())
            reader.warn(f'A success criterion was over 500 characters: "{short[:60]}..."')
        done = bool(item.checked) or bool(mark)
        reader.draft.criteria.append(CriterionDraft(group=group, text=short, done=done))
        reader.report.count("Success criteria")
        _criteria(reader, item.children, group)


def _within(reader: Reader, section: Section, key: str, handler: Handler) -> None:
    reader.trail.append(plain_heading(section.heading))
    reader.keep_asides(section.heading, key)
    try:
        handler(reader, section, key)
    finally:
        reader.trail.pop()
