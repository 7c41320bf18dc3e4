"""Markdown lines to structure: sections by heading, and inside a section's body the blocks
(lists with their nesting, tables, fenced code, paragraphs, field lines).

One pass over the lines, with a stack for nesting; nothing re-reads what it has passed. Lines
keep their text exactly (apart from trailing whitespace) so what is not understood can be kept
verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from incidents.documents.text import (
    FENCE_RE,
    FIELD_RE,
    HEADING_RE,
    RULE_RE,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
)

LIST_RE = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*)|[ \t]*$)")
TASK_RE = re.compile(r"^\[([ xX])\](?:[ \t]+(.*)|[ \t]*$)")
TABLE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass
class Section:
    level: int  # 0 for the document itself
    heading: str  # the heading's text, as written
    line: str  # the whole heading line, as written
    body: list[str] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def raw(self) -> str:
        """The section as it was written: heading, body and subsections."""
        parts: list[str] = []
        self._raw_into(parts)
        return "\n".join(parts).strip("\n")

    def _raw_into(self, parts: list[str]) -> None:
        if self.level:
            parts.append(self.line)
        parts.extend(self.body)
        for child in self.children:
            child._raw_into(parts)


@dataclass
class Item:
    """A list item: its first line, what it says further (continuation lines, dedented), and
    the items nested under it."""

    indent: int
    marker: str
    checked: bool | None  # None: no task checkbox
    text: str
    more: list[str] = field(default_factory=list)
    children: list[Item] = field(default_factory=list)
    # Every line under the first, children included, dedented to the item's content.
    body: list[str] = field(default_factory=list)
    content_indent: int = 0

    @property
    def ordered(self) -> bool:
        return self.marker[0].isdigit()

    def full_text(self) -> str:
        """The item's first line and everything under it, as one Markdown text."""
        return "\n".join([self.text, *self.body]).strip("\n")

    def detail(self) -> str:
        """The continuation lines (not the nested items), unquoted when all of them are a
        block quote, which is how the exporter writes details."""
        lines = _trim(self.more)
        if lines and all(line.startswith(">") for line in lines):
            lines = [line[2:] if line.startswith("> ") else line[1:] for line in lines]
        return "\n".join(lines)


@dataclass
class Block:
    kind: str  # list, table, fence, paragraph, field, rule, verbatim
    lines: list[str]
    items: list[Item] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    key: str = ""
    value: str = ""

    def raw(self) -> str:
        return "\n".join(self.lines)


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _indent_of(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _dedent(line: str, amount: int) -> str:
    """Remove up to `amount` columns of leading whitespace."""
    width = 0
    for i, char in enumerate(line):
        if width >= amount or char not in " \t":
            return line[i:]
        width += 4 - width % 4 if char == "\t" else 1
    return ""


def split_sections(lines: list[str]) -> Section:
    """Headings (outside code fences and verbatim regions) cut the document into a tree."""
    root = Section(level=0, heading="", line="")
    stack = [root]
    fence = ""
    verbatim = False
    for line in lines:
        if verbatim:
            verbatim = line.strip() != VERBATIM_CLOSE
        elif fence:
            match = FENCE_RE.match(line)
            if match and match.group(2).startswith(fence) and not match.group(3).strip():
                fence = ""
        elif line.strip() == VERBATIM_OPEN:
            verbatim = True
        else:
            match = FENCE_RE.match(line)
            if match:
                fence = match.group(2)
            else:
                # Only a heading at the left margin cuts a section: an indented one belongs to
                # the list item it is written under.
                heading = HEADING_RE.match(line) if line[:1] == "#" else None
                if heading:
                    level = len(heading.group(1))
                    section = Section(level=level, heading=heading.group(2) or "", line=line)
                    while stack[-1].level >= level:
                        stack.pop()
                    stack[-1].children.append(section)
                    stack.append(section)
                    continue
        stack[-1].body.append(line)
    return root


def _fence_end(lines: list[str], start: int) -> int:
    """Index just past the fence opened at `start` (or the end, for an unclosed one)."""
    opening = FENCE_RE.match(lines[start])
    assert opening is not None  # the caller found a fence here
    opener = opening.group(2)
    for i in range(start + 1, len(lines)):
        match = FENCE_RE.match(lines[i])
        if match is None:
            continue
        closes = match.group(2).startswith(opener[0]) and not match.group(3).strip()
        if closes and len(match.group(2)) >= len(opener):
            return i + 1
    return len(lines)


def _verbatim_end(lines: list[str], start: int) -> int:
    for i in range(start + 1, len(lines)):
        if lines[i].strip() == VERBATIM_CLOSE:
            return i + 1
    return len(lines)


def _is_block_start(line: str) -> bool:
    return bool(
        LIST_RE.match(line)
        or FENCE_RE.match(line)
        or RULE_RE.match(line)
        or line.strip() == VERBATIM_OPEN
    )


def _new_item(match: re.Match[str], line: str) -> Item:
    indent = _indent_of(match.group(1))
    marker = match.group(2)
    text = match.group(3) or ""
    checked = None
    task = TASK_RE.match(text)
    if task:
        checked = task.group(1) in "xX"
        text = task.group(2) or ""
    # Where the item's own text starts: what its continuation lines line up with.
    content = indent + len(marker) + 1
    if match.group(3):
        content = len(line) - len(match.group(3).lstrip()) if "\t" not in line else content
    return Item(
        indent=indent, marker=marker, checked=checked, text=text.strip(), content_indent=content
    )


def _parse_list(lines: list[str], start: int) -> tuple[list[Item], int]:
    """Items from `start` until the list ends; returns them and the index after the list.

    An item nests under the last item whose marker is less indented than its own, which is
    how people mean it even where CommonMark would want the exact content column.
    """
    roots: list[Item] = []
    stack: list[Item] = []
    owners: list[tuple[Item, int]] = []  # (item, index of its first line) for bodies
    i = start
    n = len(lines)
    blanks = 0  # blank lines seen since the last line that belonged to the list
    while i < n:
        line = lines[i]
        if not line.strip():
            blanks += 1
            i += 1
            continue
        width = _indent_of(line)
        match = LIST_RE.match(line)
        if match and not RULE_RE.match(line):
            if width > 3 and width <= stack[0].indent:
                break
            item = _new_item(match, line)
            while stack and item.indent <= stack[-1].indent:
                stack.pop()
            (stack[-1].children if stack else roots).append(item)
            stack.append(item)
            owners.append((item, i))
            blanks = 0
            i += 1
            continue
        if width <= stack[0].indent and (blanks or _is_block_start(line) or FIELD_RE.match(line)):
            break
        table = "|" in line and i + 1 < n and TABLE_SEPARATOR_RE.match(lines[i + 1])
        if width <= stack[0].indent and table:
            break
        # A continuation line belongs to the deepest open item it is indented under (or, with
        # no indent and no blank line before it, to the last item: a lazy continuation).
        while len(stack) > 1 and width <= stack[-1].indent:
            stack.pop()
        owner = stack[-1]
        owner.more.extend([""] * blanks)
        blanks = 0
        if FENCE_RE.match(line):
            end = _fence_end(lines, i)
            owner.more.extend(_dedent(x, owner.content_indent) for x in lines[i:end])
            i = end
        else:
            owner.more.append(_dedent(line, owner.content_indent))
            i += 1
    end = i - blanks
    # Bodies in one pass over the list's lines: each item spans to where the next item at
    # its depth or shallower starts.
    _fill_bodies(lines, owners, end)
    return roots, end


def _fill_bodies(lines: list[str], owners: list[tuple[Item, int]], end: int) -> None:
    open_items: list[tuple[Item, int]] = []

    def close(item: Item, first: int, stop: int) -> None:
        # Trailing blank lines separate items; a leading one belongs to the text.
        while stop > first + 1 and not lines[stop - 1].strip():
            stop -= 1
        item.body = [_dedent(x, item.content_indent) for x in lines[first + 1 : stop]]

    for item, first in owners:
        while open_items and open_items[-1][0].indent >= item.indent:
            done, done_first = open_items.pop()
            close(done, done_first, first)
        open_items.append((item, first))
    while open_items:
        done, done_first = open_items.pop()
        close(done, done_first, end)


def split_cells(row: str) -> list[str]:
    text = row.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells = re.split(r"(?<!\\)\|", text)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def parse_blocks(lines: list[str]) -> list[Block]:
    """A section body as blocks. Blank lines separate blocks and are dropped."""
    blocks: list[Block] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.strip() == VERBATIM_OPEN:
            end = _verbatim_end(lines, i)
            inner = (
                lines[i + 1 : end - 1]
                if lines[end - 1].strip() == VERBATIM_CLOSE
                else lines[i + 1 : end]
            )
            blocks.append(Block("verbatim", inner))
            i = end
            continue
        if FENCE_RE.match(line) and _indent_of(line) <= 3:
            end = _fence_end(lines, i)
            blocks.append(Block("fence", lines[i:end]))
            i = end
            continue
        if RULE_RE.match(line):
            blocks.append(Block("rule", [line]))
            i += 1
            continue
        if LIST_RE.match(line) and _indent_of(line) <= 3:
            items, end = _parse_list(lines, i)
            blocks.append(Block("list", lines[i:end], items=items))
            i = end
            continue
        if "|" in line and i + 1 < n and TABLE_SEPARATOR_RE.match(lines[i + 1]):
            end = i + 2
            while end < n and "|" in lines[end] and lines[end].strip():
                end += 1
            rows = [split_cells(row) for row in [lines[i], *lines[i + 2 : end]]]
            blocks.append(Block("table", lines[i:end], rows=rows))
            i = end
            continue
        field_match = FIELD_RE.match(line)
        if field_match:
            end = i + 1
            # A field's value may go on over the following lines of the same paragraph.
            while end < n and lines[end].strip() and not _is_block_start(lines[end]):
                if FIELD_RE.match(lines[end]):
                    break
                end += 1
            value = "\n".join(
                [field_match.group("value"), *(x.strip() for x in lines[i + 1 : end])]
            )
            blocks.append(
                Block(
                    "field",
                    lines[i:end],
                    key=field_match.group("key").strip(),
                    value=value.strip(),
                )
            )
            i = end
            continue
        end = i + 1
        while end < n and lines[end].strip() and not _is_block_start(lines[end]):
            if FIELD_RE.match(lines[end]):
                break
            if "|" in lines[end] and end + 1 < n and TABLE_SEPARATOR_RE.match(lines[end + 1]):
                break
            end += 1
        blocks.append(Block("paragraph", lines[i:end]))
        i = end
    return blocks
