"""The path forward as text, both ways, in the export's layout: a `### Priority 1: Title
(URGENT)` heading per priority, its detail as paragraphs, and its options as
`**A) Title** · estimate: 2 hours · chosen` lines, each followed by its own detail.

A detail that holds lines which would read as a heading or an option is wrapped in the
verbatim marker, as every text of the export is.
"""

from __future__ import annotations

import re
from typing import Any

from incidents.documents.importer.forward import OPTION_RE, is_options_label
from incidents.documents.rowtext import RowText, RowTextError
from incidents.documents.text import RULE_RE, SEP, VERBATIM_CLOSE, VERBATIM_OPEN, wrap_verbatim

_HEADING_RE = re.compile(r"^#{2,4}\s+(?P<title>.+?)\s*#*\s*$")
_NUMBER_RE = re.compile(r"^priority\s+\d+\s*:\s*", re.I)
_URGENT_RE = re.compile(r"\s*\(urgent\)$", re.I)
_OPTION_LINE_RE = re.compile(
    r"^\*\*(?P<label>[A-Za-z0-9]{1,10})\)\s+(?P<title>.+?)\*\*(?P<after>.*)$"
)
NO_ESTIMATE = "no estimate"


def safe_detail(text: str) -> str:
    """A detail of the path forward, wrapped verbatim when a line of it would read as an
    option, an options label or a heading, or when rules frame it."""
    text = text.strip("\n")
    lines = text.split("\n")
    structural = any(
        line.startswith("#")
        or OPTION_RE.match(line)
        or is_options_label(line)
        or "hindsight:verbatim" in line
        for line in lines
    )
    if structural or RULE_RE.match(lines[0]) or RULE_RE.match(lines[-1]):
        return wrap_verbatim(text)
    return text


def option_line(label: str, title: str, estimate: str, chosen: bool) -> str:
    meta = []
    if estimate:
        meta.append(f"estimate: {estimate}")
    elif title.rstrip().endswith(")"):
        # Else the title's own closing parentheses would be read as its estimate.
        meta.append(NO_ESTIMATE)
    if chosen:
        meta.append("chosen")
    return f"**{label}) {title}**" + "".join(SEP + m for m in meta)


def format_forward(priorities: list[Any]) -> tuple[str, list[Any]]:
    """The priorities (with their options) as text, and the rows in the order it lists them."""
    out: list[str] = []
    written: list[Any] = []
    for number, priority in enumerate(priorities, 1):
        urgent = " (URGENT)" if priority.urgent else ""
        out += [f"### Priority {number}: {priority.title}{urgent}", ""]
        written.append(priority)
        if priority.detail:
            out += [safe_detail(priority.detail), ""]
        for option in priority.options.all():
            written.append(option)
            out += [option_line(option.label, option.title, option.estimate, option.chosen), ""]
            if option.detail:
                out += [safe_detail(option.detail), ""]
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + ("\n" if out else ""), written


def _option(match: re.Match[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "label": match.group("label"),
        "title": match.group("title").strip(),
        "estimate": "",
        "chosen": False,
    }
    for segment in match.group("after").split(SEP.strip()):
        words = segment.strip()
        if not words:
            continue
        if words.lower().startswith("estimate:"):
            values["estimate"] = words[len("estimate:") :].strip()
        elif words.lower() == "chosen":
            values["chosen"] = True
        elif words.lower() != NO_ESTIMATE:
            raise ValueError(f"“{words}” after an option; write · estimate: 2 hours and · chosen.")
    return values


def _detail(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n")
    inner = text.split("\n")
    if (
        len(inner) >= 2
        and inner[0].strip() == VERBATIM_OPEN
        and inner[-1].strip() == VERBATIM_CLOSE
    ):
        return "\n".join(inner[1:-1])
    return text


def parse_forward(text: str) -> list[RowText]:
    """The priorities a path forward's text holds, their options as children."""
    rows: list[RowText] = []
    errors: list[tuple[int, str]] = []
    details: dict[int, list[str]] = {}
    target: RowText | None = None
    verbatim = False
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if verbatim or line.strip() == VERBATIM_OPEN:
            verbatim = line.strip() != VERBATIM_CLOSE
            if target is not None:
                details[id(target)].append(line)
            continue
        heading = _HEADING_RE.match(line)
        option = _OPTION_LINE_RE.match(line.strip())
        if heading:
            title = _NUMBER_RE.sub("", heading.group("title"))
            urgent = _URGENT_RE.search(title)
            title = (title[: urgent.start()] if urgent else title).strip()
            if not title:
                errors.append((number, "the priority has no title."))
            target = RowText(number, {"title": title, "urgent": bool(urgent)})
            rows.append(target)
        elif option and rows:
            try:
                values = _option(option)
            except ValueError as error:
                errors.append((number, str(error)))
                continue
            target = RowText(number, values)
            rows[-1].children.append(target)
        elif target is None:
            if line.strip():
                errors.append((number, "start with a priority: ### Priority 1: Title."))
            continue
        else:
            details[id(target)].append(line)
            continue
        details[id(target)] = []
    if errors:
        raise RowTextError(errors)
    for row in rows:
        row.values["detail"] = _detail(details[id(row)])
        for child in row.children:
            child.values["detail"] = _detail(details[id(child)])
    return rows
