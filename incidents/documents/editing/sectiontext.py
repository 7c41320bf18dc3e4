"""A section's rows as one text, both ways: group headings (`### Today`), one row a line
(rowtext.py), nested rows indented by two spaces, a row's detail as a block quote under it.
Line numbers in errors count from 1, as an editor shows them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from incidents.documents.editing.forwardtext import format_forward, parse_forward
from incidents.documents.rowtext import (
    WONT_DO_REASON,
    RowText,
    RowTextError,
    action_detail,
    action_line,
    cause_line,
    continued,
    event_line,
    read_action,
    read_cause,
    read_criterion,
    read_event,
    read_status,
    status_line,
)
from incidents.documents.text import heading_words
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Horizon,
    Lesson,
    StatusItem,
    TimelineEvent,
)

SECTION_HEADINGS: dict[str, dict[str, str]] = {
    "status": {
        StatusItem.Kind.CURRENT: "Current status",
        StatusItem.Kind.WORKING: "What's Working",
        StatusItem.Kind.KNOWN_ISSUE: "Known Issues",
    },
    "causes": {
        Cause.Kind.PRIMARY: "Primary Cause",
        Cause.Kind.TRIGGER: "Trigger",
        Cause.Kind.CONTRIBUTING: "Contributing Factors",
        Cause.Kind.ASSUMPTION: "Incorrect Assumptions",
    },
    "lessons": {
        Lesson.Kind.WENT_WRONG: "What Went Wrong",
        Lesson.Kind.WENT_RIGHT: "What Went Right",
        Lesson.Kind.LUCKY: "Where We Got Lucky",
    },
    "notes": {
        FinalNote.Kind.ACCOMPLISHED: "What We Accomplished",
        FinalNote.Kind.LEARNED: "What We Learned",
        FinalNote.Kind.MOVING_FORWARD: "Moving Forward",
        FinalNote.Kind.OTHER: "Other Notes",
    },
    "actions": dict(Horizon.choices),
    "criteria": dict(Horizon.choices),
}
# The field each section groups its rows by, under its headings.
GROUP_FIELDS: dict[str, str] = {
    "status": "kind",
    "causes": "kind",
    "lessons": "kind",
    "notes": "kind",
    "actions": "horizon",
    "criteria": "group",
}
NESTED = frozenset({"causes", "actions"})

# What the text area says beside it: the syntax of one row, per section.
HELP = {
    "timeline": "One event a line: - 06:02 What happened (kind). Times UTC on the incident's "
    "first day; another day as - 2026-01-10 06:02 …. Kinds: "
    + ", ".join(TimelineEvent.Kind.values)
    + ". Lines Hindsight wrote are not here; hide them on the page.",
    "status": "Under ### Current status, ### What's Working or ### Known Issues: "
    "- ✅ **Label**: detail (✅ healthy, ❌ failing, no mark for neither); "
    "add (pre-existing) after the label for an old issue.",
    "causes": "Under ### Primary Cause, ### Trigger, ### Contributing Factors or ### Incorrect "
    "Assumptions: - **Title** (category: configuration), detail as > quoted lines under it, "
    "nested causes indented by two spaces. Categories: "
    + ", ".join(Cause.Category.values)
    + "; leave the (category: …) out for none.",
    "lessons": "Under ### What Went Wrong, ### What Went Right or ### Where We Got Lucky: "
    "- one lesson a line (continue a long one indented by two spaces).",
    "actions": "Under ### Immediate, ### Today, ### This week, ### Before next deployment or "
    "### Long term: - [ ] Title p1 prevent @owner due:2026-01-09 blocks-deploys. [x] is done; "
    "also in-progress, wont-do (with > Won't do: reason), horizon:today on a step. Kinds: "
    "prevent, mitigate, process, detect. Detail as > quoted lines; steps indented by two "
    "spaces.",
    "criteria": "Under a horizon heading (### Before next deployment, ### This week, …): "
    "- [ ] what must hold, [x] when it holds.",
    "priorities": "### Priority 1: Title (URGENT), its detail as paragraphs under it, then its "
    "options, each on its own line with its detail under it: **A) Option title** · estimate: "
    "2 hours · chosen.",
    "notes": "Under ### What We Accomplished, ### What We Learned, ### Moving Forward or "
    "### Other Notes: - one note a line.",
}


_ITEM_RE = re.compile(r"^(?P<pad> *)[-*+] (?P<text>.*)$")
_HEADING_RE = re.compile(r"^#{2,4}\s+(?P<title>.+?)\s*#*\s*$")


def group_of(section: str, heading: str) -> str | None:
    """The group value a `### Heading` names in this section, or None."""
    words = heading_words(heading)
    for value, label in SECTION_HEADINGS[section].items():
        choices = dict(_group_choices(section))
        if words in (heading_words(label), heading_words(choices.get(value, "")), value):
            return value
        if words == value.replace("_", " "):
            return value
    return None


def _group_choices(section: str) -> Iterable[tuple[str, str]]:
    models = {
        "status": StatusItem.Kind.choices,
        "causes": Cause.Kind.choices,
        "lessons": Lesson.Kind.choices,
        "notes": FinalNote.Kind.choices,
        "actions": Horizon.choices,
        "criteria": Horizon.choices,
    }
    return models[section]


@dataclass
class _Raw:
    line: int
    depth: int
    group: str | None
    head: list[str]
    quote: list[str] = field(default_factory=list)
    children: list[_Raw] = field(default_factory=list)


def _split(section: str, text: str) -> list[_Raw]:
    """The text's items as a tree, with their group, first line, continuation and quote."""
    errors: list[tuple[int, str]] = []
    top: list[_Raw] = []
    stack: list[_Raw] = []
    group: str | None = None
    grouped = section in GROUP_FIELDS
    blank = False
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        line = raw.rstrip().replace("\t", "    ")
        if not line.strip():
            blank = True
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            stack = []
            if not grouped:
                errors.append((number, f"this section has no groups; remove “{line}”."))
                continue
            group = group_of(section, heading.group("title"))
            if group is None:
                names = ", ".join(SECTION_HEADINGS[section].values())
                errors.append((number, f"“{heading.group('title')}” is not a group ({names})."))
            continue
        item = _ITEM_RE.match(line)
        pad = len(line) - len(line.lstrip(" "))
        # In a section whose rows do not nest, an indented item is part of a row's text.
        if item and pad % 2 == 0 and pad // 2 <= len(stack) and (not pad or section in NESTED):
            depth = pad // 2
            if grouped and group is None:
                names = ", ".join(SECTION_HEADINGS[section].values())
                errors.append((number, f"put the row under a group heading: ### {names}."))
                continue
            node = _Raw(number, depth, group, [item.group("text")])
            del stack[depth:]
            (stack[-1].children if stack else top).append(node)
            stack.append(node)
            blank = False
            continue
        owner = next((n for n in reversed(stack) if pad >= 2 * n.depth + 2), None)
        if owner is None:
            errors.append(
                (number, "expected a row (- …) or a group heading (### …); indent a "
                 "continuation by two spaces.")
            )  # fmt: skip
            continue
        del stack[owner.depth + 1 :]
        content = line[2 * owner.depth + 2 :]
        if content.startswith(">") and section in NESTED:
            owner.quote.append(content[2:] if content.startswith("> ") else content[1:])
        else:
            if owner.quote:
                errors.append((number, "text after a row's > quote belongs in the quote."))
                continue
            owner.head.extend(["", content] if blank else [content])
        blank = False
    if errors:
        raise RowTextError(errors)
    return top


def _reader(section: str, day: date) -> Callable[[str], dict[str, Any]]:
    plain: Callable[[str], dict[str, Any]] = lambda text: {"text": text.strip()}  # noqa: E731
    return {
        "timeline": lambda text: read_event(text, day),
        "status": read_status,
        "causes": read_cause,
        "lessons": plain,
        "notes": plain,
        "actions": read_action,
        "criteria": read_criterion,
    }[section]


def parse_section(section: str, text: str, *, day: date) -> list[RowText]:
    """The rows a section's text holds, as a tree; RowTextError lists every bad line."""
    if section == "priorities":
        return parse_forward(text)
    read = _reader(section, day)
    errors: list[tuple[int, str]] = []

    def build(raw: _Raw, parent: dict[str, Any] | None) -> RowText | None:
        text = "\n".join(raw.head)
        try:
            values = read(text)
        except ValueError as error:
            errors.append((raw.line, str(error)))
            return None
        if not values.get("text", True) or not values.get("title", True):
            errors.append((raw.line, "the row is empty."))
            return None
        detail = "\n".join(raw.quote).strip("\n")
        if section == "actions":
            values["closed_reason"] = ""
            if values["status"] == ActionItem.Status.WONT_DO:
                first, _, rest = detail.partition("\n")
                if not first.startswith(WONT_DO_REASON) or not first[len(WONT_DO_REASON) :]:
                    errors.append((raw.line, "a wont-do item says why: > Won't do: reason."))
                    return None
                values["closed_reason"] = first[len(WONT_DO_REASON) :].strip()
                detail = rest.strip("\n")
        if section in ("causes", "actions"):
            values["detail"] = detail
        if raw.group is not None:
            values[GROUP_FIELDS[section]] = raw.group
        if section == "actions":
            values.setdefault(
                "horizon", parent["horizon"] if parent else raw.group or Horizon.THIS_WEEK
            )
        if section == "causes" and parent is not None:
            values["kind"] = parent["kind"]
        row = RowText(raw.line, values)
        row.children = [c for child in raw.children if (c := build(child, values)) is not None]
        return row

    try:
        tree = _split(section, text)
    except RowTextError as error:
        errors.extend(error.errors)
        tree = []
    rows = [r for raw in tree if (r := build(raw, None)) is not None]
    if errors:
        raise RowTextError(sorted(errors))
    return rows


def _lines_of(body: str, quote: str, depth: int) -> list[str]:
    pad = "  " * depth
    lines = [f"{pad}- {body}".replace("\n", "\n" + pad)]
    if quote:
        lines += [f"{pad}  > {q}" if q else f"{pad}  >" for q in quote.split("\n")]
    return lines


def format_rows(section: str, rows: list[Any], *, day: date) -> str:
    """A section's rows (in their order; children found by parent_id) as its text."""
    return format_section(section, rows, day=day)[0]


def format_section(section: str, rows: list[Any], *, day: date) -> tuple[str, list[Any]]:
    """The section's text, and its rows (options too, for the path forward) in the order the
    text lists them: what parse_section gives back, flattened, lines up with it."""
    if section == "priorities":
        return format_forward(rows)
    written: list[Any] = []
    children: dict[int, list[Any]] = {}
    top: list[Any] = []
    for row in rows:
        parent = getattr(row, "parent_id", None)
        (children.setdefault(parent, []) if parent else top).append(row)
    out: list[str] = []

    def line(row: Any, depth: int, parent: Any) -> None:
        if section == "timeline":
            body, quote = event_line(row.occurred_at, row.kind, row.text, day), ""
        elif section == "status":
            body, quote = status_line(row), ""
        elif section == "causes":
            body, quote = cause_line(row), row.detail
        elif section in ("lessons", "notes"):
            body, quote = continued(row.text), ""
        elif section == "criteria":
            body, quote = f"[{'x' if row.done else ' '}] {continued(row.text)}", ""
        else:
            body = action_line(row, parent.horizon if parent is not None else None)
            quote = action_detail(row)
        out.extend(_lines_of(body, quote.strip("\n"), depth))
        written.append(row)
        for child in children.get(row.pk, []):
            line(child, depth + 1, row)

    if section in GROUP_FIELDS:
        name = GROUP_FIELDS[section]
        for value, heading in SECTION_HEADINGS[section].items():
            mine = [r for r in top if getattr(r, name) == value]
            if mine:
                if out:
                    out.append("")
                out.extend([f"### {heading}", ""])
                for row in mine:
                    line(row, 0, None)
    else:
        for row in top:
            line(row, 0, None)
    return "\n".join(out) + ("\n" if out else ""), written


def first_day(started_at: datetime) -> date:
    """The day a section's times without a date are on: the incident's first, in UTC."""
    return started_at.astimezone(UTC).date()
