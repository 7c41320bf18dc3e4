"""One row of a section as one Markdown line, both ways: what the export writes, what the
importer reads and what "Edit as text" shows and reads back.

A section's text (sectiontext.py) is its rows as a list, grouped under `### Heading` lines where the section has
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from incidents.documents.text import heading_words
from incidents.models import (
    ActionItem,
    Cause,
    Horizon,
    StatusItem,
    TimelineEvent,
)


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
        elif low in _KINDS and len(words) > 2 and _PRIORITY_TOKEN.fullmatch(words[-2].lower()):
            # A kind only right after a priority ("p2 process"): a title may end in the word.
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
    # The kind closes the first line, where the importer and the editor look for it.
    first, newline, rest = text.strip("\n").partition("\n")
    return continued(f"{stamp} {first} ({kind}){newline}{rest}")


def event_kind(text: str) -> tuple[str | None, str]:
    """The kind a line's closing "(deployment)" names, and the text without it; (None, text)
    when its last parentheses name no kind."""
    suffix = _KIND_SUFFIX_RE.search(text)
    if suffix and suffix.group("kind").lower() in _EVENT_KINDS:
        return _EVENT_KINDS[suffix.group("kind").lower()], text[: suffix.start()].rstrip()
    return None, text


def read_event(text: str, day: date) -> dict[str, Any]:
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
    # Only a kind's name in the closing parentheses is the kind; any other aside is text.
    found, body = event_kind(body)
    kind: str = found or TimelineEvent.Kind.NOTE
    body = "\n".join(p for p in (body.strip(), more) if p)
    return {"occurred_at": datetime.combine(on, at, tzinfo=UTC), "kind": kind, "text": body}


# --- Causes -------------------------------------------------------------------------------------

# The category closes a cause's first line, after its bold title, as "(pre-existing)" does a
# status line's label: `- **The key expired** (category: configuration)`.
_CATEGORY_ASIDE_RE = re.compile(r"\s*\(\s*category\s*:\s*(?P<name>[^()]*?)\s*\)\s*$", re.I)


def _category_names() -> dict[str, str]:
    # A person writes what the form shows as readily as the stored value: "configuration",
    # "Change or deployment", or either half of a label with "or" ("deployment", "load").
    names: dict[str, str] = {}
    for value, label in Cause.Category.choices:
        label = str(label).lower()
        names.update({value: value, label: value})
        names.update(dict.fromkeys(label.split(" or "), value))
    return names


_CATEGORY_NAMES = _category_names()


def split_category(text: str) -> tuple[str, str, str | None]:
    """A cause's line without its closing "(category: …)", the category it names ("" when it
    names none) and a problem when the aside names no category (the line is then unchanged)."""
    aside = _CATEGORY_ASIDE_RE.search(text)
    if aside is None:
        return text, "", None
    written = aside.group("name")
    value = _CATEGORY_NAMES.get(" ".join(written.lower().replace("-", " ").split()))
    if value is None:
        known = ", ".join(Cause.Category.values)
        return text, "", f"“{written}” is not a cause category; write one of: {known}."
    return text[: aside.start()].rstrip(), value, None


def cause_line(row: Any) -> str:
    """`**Title** (category: configuration)`; a cause without a category is its title alone."""
    category = getattr(row, "category", "")
    return f"**{row.title}**" + (f" (category: {category})" if category else "")


def read_cause(text: str) -> dict[str, Any]:
    first, newline, rest = text.partition("\n")
    first, category, problem = split_category(first)
    if problem:
        raise ValueError(problem)
    # Always a category, blank when the line names none: deleting the aside clears it.
    return {"title": unbold(first + newline + rest), "category": category}


# --- The other rows -------------------------------------------------------------------------------

# Marks of the third state, between healthy and failing: something needs attention.
WARNING_MARKS = ("⚠️", "⚠", "🟡", "🟠")
WARNING_SIGN = "⚠️"  # how a warning line is written back

_STATUS_RE = re.compile(
    r"^(?P<mark>✅|❌|⚠️|⚠|🟡|🟠)?\s*(?:\*\*(?P<bold>.+?)\*\*|(?P<plain>[^:]+?))"
    r"(?P<pre>\s*\(pre-?existing\))?\s*(?::\s*(?P<detail>.*))?$",
    re.S | re.I,
)


def status_line(row: StatusItem) -> str:
    if row.ok is not None:
        mark = {True: "✅ ", False: "❌ "}[row.ok]
    else:
        mark = f"{WARNING_SIGN} " if row.warning else ""
    aside = " (pre-existing)" if row.pre_existing else ""
    detail = f": {continued(row.detail)}" if row.detail else ""
    return f"{mark}**{row.label}**{aside}{detail}"


def read_status(text: str) -> dict[str, Any]:
    match = _STATUS_RE.match(text.strip())
    if match is None or not (match.group("bold") or match.group("plain") or "").strip():
        raise ValueError("a status line is - ✅ **Label**: detail.")
    mark = match.group("mark")
    return {
        "label": (match.group("bold") or match.group("plain")).strip(),
        "detail": (match.group("detail") or "").strip(),
        "ok": {"✅": True, "❌": False}.get(mark or ""),
        "warning": (mark or "") in WARNING_MARKS,
        "pre_existing": bool(match.group("pre")),
    }


def unbold(text: str) -> str:
    text = text.strip()
    bold = re.fullmatch(r"\*\*(.+?)\*\*", text)
    return bold.group(1).strip() if bold else text


def read_action(text: str) -> dict[str, Any]:
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


def read_criterion(text: str) -> dict[str, Any]:
    box = re.match(r"^\[( |x|X)\]\s*", text)
    body = text[box.end() :] if box else text
    if not body.strip():
        raise ValueError("the criterion has no text.")
    return {"text": body.strip(), "done": bool(box and box.group(1) != " ")}


def continued(text: str) -> str:
    first, _, rest = text.strip("\n").partition("\n")
    return first + "".join(f"\n  {line}" if line else "\n" for line in rest.split("\n") if rest)
