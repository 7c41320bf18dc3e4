"""Readers of the path forward (priorities with their solution options) and of
communications (fenced messages or message sections)."""

from __future__ import annotations

import re

from incidents.documents.importer.blocks import Section, parse_blocks
from incidents.documents.importer.draft import CommunicationDraft, OptionDraft, PriorityDraft
from incidents.documents.importer.headings import PRIORITY_RE, audience_of, classify
from incidents.documents.importer.items import item_meta
from incidents.documents.importer.reader import Reader
from incidents.documents.importer.sections import body_text
from incidents.documents.text import (
    FENCE_RE,
    SEP,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
    fit,
    heading_asides,
    heading_title,
    heading_words,
    plain_heading,
)
from incidents.models import Audience, Communication, Phase

# --- Path forward ------------------------------------------------------------------------------

OPTION_RE = re.compile(
    r"^\s{0,3}(?:\*\*|__)(?:(?:option\s+(?P<named>[A-Za-z0-9]{1,10})\s*[).:-])"
    r"|(?P<label>[A-Za-z0-9]{1,10})\))\s*(?P<title>.+?)(?:\*\*|__)(?P<after>.*)$",
    re.I,
)
_ESTIMATE_RE = re.compile(r"\s*\((?P<estimate>[^()]*(?:\d|hour|minute|day|week)[^()]*)\)\s*$", re.I)
_LABEL_LINE_RE = re.compile(r"^\s{0,3}(?:\*\*|__)[^*_]{1,40}:(?:\*\*|__)\s*$")


def is_options_label(line: str) -> bool:
    """ "**Solution Options:**": a label that introduces the options, not part of any text."""
    return bool(_LABEL_LINE_RE.match(line)) and "option" in line.lower()


def _option(match: re.Match[str]) -> OptionDraft:
    title = match.group("title").strip()
    meta = (
        item_meta(f"x{match.group('after')}", inline=False)
        if SEP.strip() in match.group("after")
        else None
    )
    estimate = meta.estimate if meta else None
    if estimate is None:
        inner = _ESTIMATE_RE.search(title)
        estimate = inner.group("estimate").strip() if inner else ""
        if inner:
            title = title[: inner.start()].strip()
    return OptionDraft(
        label=(match.group("named") or match.group("label"))[:10],
        title=fit(title, 300)[0] or "(untitled)",
        estimate=fit(estimate, 100)[0],
        chosen=bool(meta and meta.chosen),
    )


def priority(reader: Reader, section: Section, key: str) -> None:
    heading = heading_title(section.heading)
    numbered = PRIORITY_RE.match(heading)
    title = (numbered.group(2) if numbered else heading).strip()
    urgent = bool(re.search(r"\((urgent|critical)\)\s*$", title, re.I))
    title = re.sub(r"\s*\((urgent|critical)\)\s*$", "", title, flags=re.I)
    draft = PriorityDraft(title=fit(title, 300)[0] or "(untitled)", urgent=urgent)
    target: list[str] = []
    details = target
    option_details: list[list[str]] = []
    fence = ""
    verbatim = False
    for line in section.body:
        if verbatim or line.strip() == VERBATIM_OPEN:
            verbatim = line.strip() != VERBATIM_CLOSE
            target.append(line)
            continue
        opening = FENCE_RE.match(line)
        if opening and (not fence or opening.group(2).startswith(fence)):
            fence = "" if fence else opening.group(2)[0]
            target.append(line)
            continue
        match = None if fence else OPTION_RE.match(line)
        if match:
            draft.options.append(_option(match))
            target = []
            option_details.append(target)
        elif not fence and is_options_label(line):
            continue
        else:
            target.append(line)
    for child in section.children:
        child_heading = plain_heading(child.heading)
        match = OPTION_RE.match(f"**{child_heading}**") or OPTION_RE.match(
            f"**Option {child_heading}**"
        )
        if match and re.match(r"^(option\s+)?[A-Za-z0-9]{1,10}[).:]", child_heading, re.I):
            draft.options.append(_option(match))
            option_details.append([*child.body, *(g.raw() for g in child.children)])
        else:
            (option_details[-1] if option_details else details).append(child.raw())
    draft.detail = body_text(details)
    for option, lines in zip(draft.options, option_details, strict=True):
        option.detail = body_text(lines)
    _unique_labels(reader, draft)
    reader.draft.priorities.append(draft)
    reader.report.count("Path forward priorities")
    if draft.options:
        reader.report.count("Solution options", len(draft.options))


def _unique_labels(reader: Reader, draft: PriorityDraft) -> None:
    seen: set[str] = set()
    for option in draft.options:
        label = option.label
        number = 2
        while option.label in seen:
            option.label = f"{label[:8]}{number}"
            number += 1
        if option.label != label:
            reader.warn(
                f'Option "{label}" appeared twice under "{draft.title}"; renamed {option.label}.'
            )
        seen.add(option.label)


def path_forward(reader: Reader, section: Section, key: str) -> None:
    for block in parse_blocks(section.body):
        if block.kind == "field":
            reader.field(block, reader.here())
        elif block.kind != "rule":
            reader.unrecognized(reader.here(), block.raw())
    for child in section.children:
        reader.trail.append(plain_heading(child.heading))
        priority(reader, child, "priority")
        reader.trail.pop()


# --- Communications ----------------------------------------------------------------------------

_STATUSES = {"draft": "draft", "approved": "approved", "sent": "sent", "published": "sent"}


def _message(text: str, template: CommunicationDraft, fallback_subject: str) -> CommunicationDraft:
    lines = text.split("\n")
    subject = ""
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and re.match(r"^\s*(\*\*)?subject(\*\*)?\s*:", lines[0], re.I):
        subject = lines.pop(0).split(":", 1)[1].strip(" *")
        if lines and not lines[0].strip():
            lines.pop(0)
    return CommunicationDraft(
        audience=template.audience,
        status=template.status,
        phase=template.phase,
        subject=fit(subject or fallback_subject, 300)[0],
        body="\n".join(lines).strip("\n"),
    )


def communication(reader: Reader, section: Section, key: str) -> None:
    parts = [p.strip() for p in heading_title(section.heading).split(SEP.strip())]
    audience = key.split(":", 1)[1] if key.startswith("audience:") else audience_of(parts[0])
    words = heading_words(section.heading).split() + heading_asides(section.heading).split()
    template = CommunicationDraft(audience=audience or Audience.USER_EMAIL)
    template.status = next(
        (_STATUSES[w] for w in words if w in _STATUSES), Communication.Status.DRAFT
    )
    if template.audience == Audience.STATUS_PAGE:
        template.phase = next((w for w in words if w in Phase.values), "")
    subject = f"{parts[0] if audience else 'Message'}: {reader.draft.title}".rstrip(": ")
    blocks = parse_blocks(section.body)
    fences = [b for b in blocks if b.kind == "fence"]
    if fences:
        for block in fences:
            inner = block.lines[1:-1] if len(block.lines) > 1 else []
            _add(reader, _message("\n".join(inner), template, subject))
        for block in blocks:
            if block.kind not in ("fence", "rule"):
                reader.unrecognized(reader.here(), block.raw())
    elif any(b.kind != "rule" for b in blocks):
        text = body_text(section.body)
        field = next((b for b in blocks if b.kind == "field" and b.key.lower() == "subject"), None)
        if field is not None:
            text = text.replace(field.raw(), f"Subject: {field.value}", 1)
        _add(reader, _message(text, template, subject))
    for child in section.children:
        child_key = classify(child.heading, "communication")
        reader.trail.append(plain_heading(child.heading))
        reader.keep_asides(child.heading, "communication")
        communication(
            reader, child, child_key if child_key and child_key.startswith("audience:") else ""
        )
        reader.trail.pop()


def _add(reader: Reader, message: CommunicationDraft) -> None:
    reader.draft.communications.append(message)
    reader.report.count("Communications")
