"""One row of a section as one Markdown line, both ways: what the export writes, what the
importer reads and what "Edit as text" shows and reads back.

A section's text is its rows as a list, grouped under `### Heading` lines where the section has
groups (a kind, a horizon), nested by two spaces where rows have parents, with a row's detail
as a block quote under it:

    ### Today
    - [ ] Add the pre-deploy check p1 prevent @alex due:2026-01-09 blocks-deploys
      > Fail the build when the worker file is missing.
      - [x] Write the check p2 prevent

Nothing here touches the database: owners stay usernames, and the caller decides what a
username means. Bad input raises RowTextError with the 1-based line number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

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
NESTED = frozenset({"causes", "actions", "priorities"})

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
    "Assumptions: - **Title**, detail as > quoted lines under it, nested causes indented "
    "by two spaces.",
    "lessons": "Under ### What Went Wrong, ### What Went Right or ### Where We Got Lucky: "
    "- one lesson a line (continue a long one indented by two spaces).",
    "actions": "Under ### Immediate, ### Today, ### This week, ### Before next deployment or "
    "### Long term: - [ ] Title p1 prevent @owner due:2026-01-09 blocks-deploys. [x] is done; "
    "also in-progress, wont-do (with > Won't do: reason), horizon:today on a step. Kinds: "
    "prevent, mitigate, process, detect. Detail as > quoted lines; steps indented by two "
    "spaces.",
    "criteria": "Under a horizon heading (### Before next deployment, ### This week, …): "
    "- [ ] what must hold, [x] when it holds.",
    "priorities": "- Priority title (urgent), detail as > quoted lines; its options indented "
    "under it: - A) Option title (estimate: 2 hours) chosen.",
    "notes": "Under ### What We Accomplished, ### What We Learned, ### Moving Forward or "
    "### Other Notes: - one note a line.",
}


class RowTextError(ValueError):
    """The text cannot be read; `errors` are (line number, message), line numbers from 1."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"line {n}: {m}" for n, m in errors))


@dataclass
class RowText:
    """One row as the text says it: its fields (model values; an owner is a username), the
    group heading it is under, its nested rows, and the line it starts on."""

    line: int
    values: dict[str, Any]
    children: list[RowText] = field(default_factory=list)


# --- Action items: a title and its tokens -----------------------------------------------------

_KINDS = frozenset(ActionItem.Kind.values)
_PRIORITY_TOKEN = re.compile(r"p[1-3]")
_OWNER_TOKEN = re.compile(r"@([\w.+-]*\w)")
_DUE_TOKEN = re.compile(r"due:(\S+)")
_HORIZON_TOKEN = re.compile(r"horizon:(\S+)")
_STATUS_TOKENS = {
    "in-progress": ActionItem.Status.IN_PROGRESS,
    "wont-do": ActionItem.Status.WONT_DO,
}
BLOCKS_TOKEN = "blocks-deploys"
WONT_DO_REASON = "Won't do: "


def _horizon_value(word: str) -> str | None:
    word = word.strip().lower().replace("-", "_")
    if word in Horizon.values:
        return word
    return {heading_words(label).replace(" ", "_"): value for value, label in Horizon.choices}.get(
        word
    )


def split_item_tokens(line: str) -> tuple[str, dict[str, Any], list[str]]:
    """A title and the tokens at the end of its line, read from the right while each is a
    token of a kind not seen yet: ("Add the check", {"priority": "p1", ...}, problems).

    `problems` names tokens that look like one but say nothing valid (a due date that is not a
    date, say): the text editor refuses them, the importer keeps them in the title.
    """
    words = line.split(" ")
    found: dict[str, Any] = {}
    problems: list[str] = []
    while len(words) > 1:
        word = words[-1]
        low = word.lower()
        name: str
        value: Any
        if _PRIORITY_TOKEN.fullmatch(low):
            name, value = "priority", low
        elif low in _KINDS:
            name, value = "kind", low
        elif (owner := _OWNER_TOKEN.fullmatch(word)) is not None:
            name, value = "owner", owner.group(1)
        elif (due := _DUE_TOKEN.fullmatch(low)) is not None:
            name = "due_date"
            try:
                value = date.fromisoformat(due.group(1))
            except ValueError:
                problems.append(f"{due.group(1)} is not a date; write due:YYYY-MM-DD.")
                value = None
        elif low == BLOCKS_TOKEN:
            name, value = "blocks_deployments", True
        elif low in _STATUS_TOKENS:
            name, value = "status", _STATUS_TOKENS[low]
        elif (horizon := _HORIZON_TOKEN.fullmatch(low)) is not None:
            name, value = "horizon", _horizon_value(horizon.group(1))
            if value is None:
                problems.append(f"{horizon.group(1)} is not a horizon.")
        elif word == "":
            words.pop()
            continue
        else:
            break
        if name in found:
            break
        found[name] = value
        words.pop()
    return " ".join(words).rstrip(), found, problems


def escape_owner_marks(title: str) -> str:
    """An "@word" inside a title, escaped so it is never read back as the owner."""
    return re.sub(r"(?<![\w\\])@(?=\w)", r"\\@", title)


def action_line(
    item: ActionItem, parent_horizon: str | None = None, owner: str | None = None
) -> str:
    """`[ ] Title p1 prevent @alex due:2026-01-09 blocks-deploys`: the box, the title and its
    tokens, priority and kind always (so a title's last word is never taken for one)."""
    if owner is None:
        owner = item.owner.get_username() if item.owner_id and item.owner else ""
    tokens = [item.priority, item.kind]
    if owner:
        tokens.append(f"@{owner}")
    if item.due_date:
        tokens.append(f"due:{item.due_date:%Y-%m-%d}")
    if item.blocks_deployments:
        tokens.append(BLOCKS_TOKEN)
    if item.status == ActionItem.Status.IN_PROGRESS:
        tokens.append("in-progress")
    elif item.status == ActionItem.Status.WONT_DO:
        tokens.append("wont-do")
    if parent_horizon is not None and item.horizon != parent_horizon:
        tokens.append(f"horizon:{item.horizon.replace('_', '-')}")
    box = "[x]" if item.status == ActionItem.Status.DONE else "[ ]"
    return f"{box} {escape_owner_marks(item.title)} {' '.join(tokens)}"


def action_detail(item: ActionItem) -> str:
    if item.status != ActionItem.Status.WONT_DO:
        return item.detail
    reason = f"{WONT_DO_REASON}{item.closed_reason}"
    return f"{reason}\n\n{item.detail}" if item.detail else reason


# --- Timeline ------------------------------------------------------------------------------------

_STAMP_RE = re.compile(
    r"^(?:(?P<date>\d{4}-\d{2}-\d{2})\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s+(?P<text>.+)$"
)
_KIND_SUFFIX_RE = re.compile(r"\s*\((?P<kind>[a-z_ ]+)\)$", re.I)
_EVENT_KINDS = {
    **{label.lower(): value for value, label in TimelineEvent.Kind.choices},
    **{value.replace("_", " "): value for value in TimelineEvent.Kind.values},
    **{value: value for value in TimelineEvent.Kind.values},
}


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def event_line(occurred_at: datetime, kind: str, text: str, day: date) -> str:
    at = occurred_at.astimezone(UTC)
    stamp = _clock(at) if at.date() == day else f"{at:%Y-%m-%d} {_clock(at)}"
    return f"{stamp} {_continued(text)} ({kind})"


def _event(text: str, day: date) -> dict[str, Any]:
    first, _, more = text.partition("\n")
    stamp = _STAMP_RE.match(first)
    if stamp is None:
        raise ValueError("an event starts with its time: - 06:02 What happened (kind).")
    try:
        on = date.fromisoformat(stamp.group("date")) if stamp.group("date") else day
        at = time(int(stamp.group("h")), int(stamp.group("m")), int(stamp.group("s") or 0))
    except ValueError:
        raise ValueError(f"{first.split(' ', 2)[0]} is not a time or date.") from None
    body = stamp.group("text")
    kind: str = TimelineEvent.Kind.NOTE
    # Only a kind's name in the closing parentheses is the kind; any other aside is text.
    suffix = _KIND_SUFFIX_RE.search(body)
    if suffix and suffix.group("kind").lower() in _EVENT_KINDS:
        kind = _EVENT_KINDS[suffix.group("kind").lower()]
        body = body[: suffix.start()]
    body = "\n".join(p for p in (body.strip(), more) if p)
    return {"occurred_at": datetime.combine(on, at, tzinfo=UTC), "kind": kind, "text": body}


# --- The other rows -------------------------------------------------------------------------------

_STATUS_RE = re.compile(
    r"^(?P<mark>✅|❌)?\s*(?:\*\*(?P<bold>.+?)\*\*|(?P<plain>[^:]+?))"
    r"(?P<pre>\s*\(pre-?existing\))?\s*(?::\s*(?P<detail>.*))?$",
    re.S | re.I,
)


def status_line(row: StatusItem) -> str:
    mark = {True: "✅ ", False: "❌ "}.get(row.ok, "") if row.ok is not None else ""
    aside = " (pre-existing)" if row.pre_existing else ""
    detail = f": {_continued(row.detail)}" if row.detail else ""
    return f"{mark}**{row.label}**{aside}{detail}"


def _status(text: str) -> dict[str, Any]:
    match = _STATUS_RE.match(text.strip())
    if match is None or not (match.group("bold") or match.group("plain") or "").strip():
        raise ValueError("a status line is - ✅ **Label**: detail.")
    mark = match.group("mark")
    return {
        "label": (match.group("bold") or match.group("plain")).strip(),
        "detail": (match.group("detail") or "").strip(),
        "ok": {"✅": True, "❌": False}.get(mark or ""),
        "pre_existing": bool(match.group("pre")),
    }


def _unbold(text: str) -> str:
    text = text.strip()
    bold = re.fullmatch(r"\*\*(.+?)\*\*", text)
    return bold.group(1).strip() if bold else text


_OPTION_RE = re.compile(
    r"^(?P<label>[A-Za-z0-9]{1,10})\)\s+(?P<title>.+?)"
    r"(?:\s+\(estimate:\s*(?P<estimate>[^)]*)\))?(?P<chosen>\s+chosen)?$"
)
_URGENT_RE = re.compile(r"\s*\(urgent\)$", re.I)


def option_line(label: str, title: str, estimate: str, chosen: bool) -> str:
    return (
        f"{label}) {title}"
        + (f" (estimate: {estimate})" if estimate else "")
        + (" chosen" if chosen else "")
    )


def _option(text: str) -> dict[str, Any]:
    match = _OPTION_RE.match(text.strip())
    if match is None:
        raise ValueError("an option is - A) Title (estimate: 2 hours) chosen.")
    return {
        "label": match.group("label"),
        "title": match.group("title").strip(),
        "estimate": (match.group("estimate") or "").strip(),
        "chosen": bool(match.group("chosen")),
    }


def _priority(text: str) -> dict[str, Any]:
    urgent = _URGENT_RE.search(text)
    title = text[: urgent.start()] if urgent else text
    return {"title": title.strip(), "urgent": bool(urgent)}


def _action(text: str) -> dict[str, Any]:
    box = re.match(r"^\[( |x|X)\]\s*", text)
    if box is None:
        raise ValueError("an action item starts with [ ] (open) or [x] (done).")
    title, tokens, problems = split_item_tokens(text[box.end() :].strip())
    if problems:
        raise ValueError(" ".join(problems))
    if not title:
        raise ValueError("the action item has no title.")
    values: dict[str, Any] = {
        "title": title.replace("\\@", "@"),
        "priority": tokens.get("priority", ActionItem.Priority.P2),
        "kind": tokens.get("kind", ActionItem.Kind.PREVENT),
        "owner": tokens.get("owner", ""),
        "due_date": tokens.get("due_date"),
        "blocks_deployments": tokens.get("blocks_deployments", False),
        "status": ActionItem.Status.DONE
        if box.group(1) != " "
        else tokens.get("status", ActionItem.Status.OPEN),
    }
    if "horizon" in tokens:
        values["horizon"] = tokens["horizon"]
    return values


def _criterion(text: str) -> dict[str, Any]:
    box = re.match(r"^\[( |x|X)\]\s*", text)
    body = text[box.end() :] if box else text
    if not body.strip():
        raise ValueError("the criterion has no text.")
    return {"text": body.strip(), "done": bool(box and box.group(1) != " ")}


def _continued(text: str) -> str:
    first, _, rest = text.strip("\n").partition("\n")
    return first + "".join(f"\n  {line}" if line else "\n" for line in rest.split("\n") if rest)


# --- Whole sections -------------------------------------------------------------------------------

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
        if item and pad % 2 == 0 and pad // 2 <= len(stack):
            depth = pad // 2
            if depth and section not in NESTED:
                errors.append((number, "rows of this section do not nest; unindent it."))
                continue
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
        if content.startswith(">"):
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
        "timeline": lambda text: _event(text, day),
        "status": _status,
        "causes": lambda text: {"title": _unbold(text)},
        "lessons": plain,
        "notes": plain,
        "actions": _action,
        "criteria": _criterion,
        "priorities": _priority,
    }[section]


def parse_section(section: str, text: str, *, day: date) -> list[RowText]:
    """The rows a section's text holds, as a tree; RowTextError lists every bad line."""
    read = _reader(section, day)
    errors: list[tuple[int, str]] = []

    def build(raw: _Raw, parent: dict[str, Any] | None) -> RowText | None:
        text = "\n".join(raw.head)
        try:
            if section == "priorities" and raw.depth == 1:
                values = _option(text)
            elif section == "priorities" and raw.depth > 1:
                raise ValueError("options do not nest.")
            else:
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
        if raw.quote and section in ("timeline", "status", "lessons", "notes", "criteria"):
            errors.append((raw.line, "this row has no detail; write its text on the line."))
            return None
        if section in ("causes", "actions", "priorities"):
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
    written: list[Any] = []
    children: dict[int, list[Any]] = {}
    top: list[Any] = []
    for row in rows:
        parent = getattr(row, "parent_id", None) if section != "priorities" else None
        (children.setdefault(parent, []) if parent else top).append(row)
    out: list[str] = []

    def line(row: Any, depth: int, parent: Any) -> None:
        if section == "timeline":
            body, quote = event_line(row.occurred_at, row.kind, row.text, day), ""
        elif section == "status":
            body, quote = status_line(row), ""
        elif section == "causes":
            body, quote = f"**{row.title}**", row.detail
        elif section in ("lessons", "notes"):
            body, quote = _continued(row.text), ""
        elif section == "criteria":
            body, quote = f"[{'x' if row.done else ' '}] {_continued(row.text)}", ""
        elif section == "actions":
            body = action_line(row, parent.horizon if parent is not None else None)
            quote = action_detail(row)
        else:
            body = row.title + (" (urgent)" if row.urgent else "")
            quote = row.detail
        out.extend(_lines_of(body, quote.strip("\n"), depth))
        written.append(row)
        if section == "priorities":
            for option in row.options.all():
                written.append(option)
                opt = option_line(option.label, option.title, option.estimate, option.chosen)
                out.extend(_lines_of(opt, option.detail.strip("\n"), depth + 1))
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
