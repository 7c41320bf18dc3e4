"""What one list item says: its tick or emoji mark, a bold title, and the metadata after it
(the export's "p1 mitigate @alice due:2026-01-09" tokens, read by rowtext; the " · P1 · mitigate ·
@alice · due 2026-01-09" segments of earlier exports; or "@bob due 2026-02-10" written inline)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from incidents.documents.importer.fields import (
    ACTION_KINDS,
    ITEM_STATUSES,
    PRIORITIES,
    parse_date,
)
from incidents.documents.rowtext import WARNING_MARKS, split_item_tokens
from incidents.documents.text import SEP
from incidents.models import ActionItem, Horizon

# Leading marks people use for yes and no: ✅ done / healthy / went right, ❌ the opposite.
YES_MARKS = ("✅", "✔️", "✔", "☑️", "☑", "🟢", "👍", "[x]", "[X]")
NO_MARKS = ("❌", "✖️", "✖", "🔴", "👎", "⛔")
OTHER_MARKS = ("⚠️", "⚠", "🟡", "🟠", "🍀", "🔥", "💡", "📌", "👉", "➡️", "➡", "•")
_BOLD_TITLE_RE = re.compile(r"^(\*\*|__)(?P<title>.+?)\1\s*(?P<rest>.*)$", re.S)
_OWNER_RE = re.compile(r"(?<![\w\\])@(?P<name>[\w.+-]*\w)")
_OWNER_WORD_RE = re.compile(
    r"[(\[]?\b(?:owner|assignee|assigned to)\s*[:=]\s*@?(?P<name>[\w.+-]*\w)[)\]]?", re.I
)
_DUE_RE = re.compile(
    r"[(\[]?\b(?:due|by|deadline)\s*:?\s*(?P<date>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.? \d{4})[)\]]?",
    re.I,
)
_PRIORITY_TOKEN_RE = re.compile(r"(?<!\w)[(\[]?(?P<p>P[0-4])[)\]]?(?!\w)")
_NO_ESTIMATE = "no estimate"
# A sub-item whose horizon differs from its parent's says so by the horizon's label.
_HORIZON_LABELS = {label.lower(): value for value, label in Horizon.choices}


# Every mark's first character: most items start with none of them and skip the search.
_MARK_STARTS = frozenset(mark[0] for mark in (*YES_MARKS, *NO_MARKS, *OTHER_MARKS))


def leading_mark(text: str) -> tuple[bool | None, str]:
    """(True for a yes mark, False for a no mark, None for none) and the text without it."""
    stripped = text.lstrip()
    if stripped[:1] not in _MARK_STARTS:
        return None, text.strip()
    for marks, value in ((YES_MARKS, True), (NO_MARKS, False), (OTHER_MARKS, None)):
        for mark in marks:
            if stripped.startswith(mark):
                rest = stripped[len(mark) :].lstrip("\ufe0f").lstrip()
                return value, rest
    return None, text.strip()


def has_warning_mark(text: str) -> bool:
    return text.lstrip().startswith(WARNING_MARKS)


def bold_title(text: str) -> tuple[str, str] | None:
    """`**Homepage:** 200 OK` -> ("Homepage", "200 OK"); None when the text does not open bold.

    The bold must either end with a colon or be followed by one, or cover the whole first
    line; bold words inside a sentence are not a title.
    """
    match = _BOLD_TITLE_RE.match(text)
    if not match:
        return None
    title = match.group("title").strip()
    rest = match.group("rest")
    if title.endswith(":"):
        return title[:-1].strip(), rest.strip()
    if rest.startswith(":"):
        return title, rest[1:].strip()
    first_line = rest.split("\n", 1)[0].strip()
    if not first_line or first_line.startswith("("):
        return title, rest.strip()
    return None


def title_and_rest(text: str) -> tuple[str, str]:
    """A title and what follows it: bold title if there is one, else the first line."""
    bold = bold_title(text)
    if bold:
        return bold
    first, _, rest = text.partition("\n")
    return first.strip().rstrip(":").strip(), rest.strip()


@dataclass
class ItemMeta:
    title: str
    status: str | None = None
    priority: str | None = None
    kind: str | None = None
    horizon: str | None = None
    owner: str = ""
    due: date | None = None
    blocks: bool = False
    estimate: str | None = None
    chosen: bool = False


def _segment(meta: ItemMeta, segment: str) -> bool:
    """Read one "· ..." segment into `meta`; False when it is not metadata."""
    words = segment.strip().lower()
    if re.fullmatch(r"p[0-4]", words):
        meta.priority = PRIORITIES[words]
    elif words in ACTION_KINDS:
        meta.kind = ACTION_KINDS[words]
    elif re.fullmatch(r"@[\w.@+-]*\w", segment.strip()):
        meta.owner = segment.strip()[1:]
    elif words.startswith("due ") and parse_date(words[4:]):
        meta.due = parse_date(words[4:])
    elif words in ("blocks deployments", "blocks deploys", "blocking"):
        meta.blocks = True
    elif words in ITEM_STATUSES:
        meta.status = ITEM_STATUSES[words]
    elif words.startswith("estimate:"):
        meta.estimate = segment.strip()[len("estimate:") :].strip()
    elif words == _NO_ESTIMATE:
        meta.estimate = ""
    elif words == "chosen":
        meta.chosen = True
    elif words in _HORIZON_LABELS:
        meta.horizon = _HORIZON_LABELS[words]
    else:
        return False
    return True


def item_meta(text: str, *, inline: bool = True) -> ItemMeta:
    """Split an item's first line into its title and metadata.

    Segments after " · " are read from the right while they are metadata (the exporter's
    form). When there are none, `inline` looks for "@owner", "owner: x", "due <date>" and
    "P1" anywhere in the line instead, as other templates write them.
    """
    segments = text.split(SEP)
    meta = ItemMeta(title="")
    while len(segments) > 1 and _segment(meta, segments[-1]):
        segments.pop()
    title = SEP.join(segments).strip()
    found_segments = len(segments) < len(text.split(SEP))
    if inline and not found_segments:
        title = _tokens(meta, title) or _inline(meta, title)
    meta.title = title.replace("\\@", "@")
    return meta


# Text that is never metadata: code spans, links (text and target), autolinks, bare URLs and
# e-mail addresses. "@team" in a link's target or "by 2026-01-02" in a URL is part of it.
_PROTECTED_RE = re.compile(
    r"`[^`]*`|!?\[[^\]]*\]\([^)\s]*(?:\([^)\s]*\)[^)\s]*)*\)|<[^>\s]+>"
    r"|\b[a-z][a-z0-9+.-]*://[^\s)\]>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.I,
)
# Where a token was taken out; brackets that held nothing else go with it.
_TAKEN = "\x00"
_EMPTIED_BRACKETS_RE = re.compile(rf"\s*[(\[][\s,;{_TAKEN}]*{_TAKEN}[\s,;{_TAKEN}]*[)\]]")


def _search(pattern: re.Pattern[str], title: str, *, alone: bool = False) -> re.Match[str] | None:
    """The first match of `pattern` outside code, links and addresses; with `alone`, not
    inside brackets that say more ("(ask @sam or @kim)" is a sentence, not an owner)."""
    protected = [m.span() for m in _PROTECTED_RE.finditer(title)]
    for match in pattern.finditer(title):
        start, end = match.span()
        if any(start < stop and end > begin for begin, stop in protected):
            continue
        if alone and _in_a_sentence(title, start, end):
            continue
        return match
    return None


def _in_a_sentence(title: str, start: int, end: int) -> bool:
    opening = max(title.rfind("(", 0, start), title.rfind("[", 0, start))
    if opening < 0 or max(title.rfind(")", 0, start), title.rfind("]", 0, start)) > opening:
        return False
    closing = [i for i in (title.find(")", end), title.find("]", end)) if i >= 0]
    if not closing:
        return False
    around = title[opening + 1 : start] + " " + title[end : min(closing)]
    for token in (_OWNER_WORD_RE, _DUE_RE, _PRIORITY_TOKEN_RE, _OWNER_RE):
        around = token.sub(" ", around)
    return bool(re.search(r"\w", around))


def _take(title: str, match: re.Match[str]) -> str:
    """`title` without the token; a bracket the token's pattern took without its partner
    ("(P1" of "(P1, @sam)") is put back, so the pair is judged whole."""
    text = match.group(0)
    before = text[0] if text[0] in "([" and text[-1] not in ")]" else ""
    after = text[-1] if text[-1] in ")]" and text[0] not in "([" else ""
    return title[: match.start()] + before + _TAKEN + after + title[match.end() :]


def _tokens(meta: ItemMeta, line: str) -> str:
    """The export's "Title p1 prevent @alex due:2026-01-09" (rowtext); "" when the line does
    not end in a priority and kind, so other layouts' titles keep their last words."""
    title, tokens, problems = split_item_tokens(line)
    if problems or "kind" not in tokens:
        return ""
    meta.priority = tokens["priority"]
    meta.kind = tokens["kind"]
    meta.owner = tokens.get("owner", "")
    meta.due = tokens.get("due_date")
    meta.blocks = tokens.get("blocks_deployments", False)
    meta.status = tokens.get("status")
    meta.horizon = tokens.get("horizon")
    return title


def _inline(meta: ItemMeta, title: str) -> str:
    owner = _search(_OWNER_WORD_RE, title) or _search(_OWNER_RE, title, alone=True)
    if owner:
        meta.owner = owner.group("name")
        title = _take(title, owner)
    due = _search(_DUE_RE, title)
    if due and parse_date(due.group("date")):
        meta.due = parse_date(due.group("date"))
        title = _take(title, due)
    priority = _search(_PRIORITY_TOKEN_RE, title)
    if priority:
        meta.priority = PRIORITIES[priority.group("p").lower()]
        title = _take(title, priority)
    if re.search(r"\*\*done\*\*|\(done\)|\[done\]", title, re.I):
        meta.status = ActionItem.Status.DONE
        title = re.sub(r"\s*(\*\*done\*\*|\(done\)|\[done\])", "", title, flags=re.I)
    # "(@sam)" leaves "()": brackets that held only what was taken out go too, and the
    # author's own brackets ("run `make()`") stay as written.
    title = _EMPTIED_BRACKETS_RE.sub("", title).replace(_TAKEN, " ")
    # What removing the tokens left behind: doubled spaces and dangling separators.
    title = re.sub(r"\s{2,}", " ", title)
    return title.strip(" \t-\u2013\u2014,;:|")
