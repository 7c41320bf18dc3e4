"""Text pieces the exporter and the importer share, so what one writes the other reads.

Nothing here touches the database. Every function is linear in the length of its input: a
document is read line by line, never re-scanned per line.
"""

from __future__ import annotations

import re
import unicodedata

# Separates a line's text from its metadata: "**A) Title** · estimate: 2 hours · chosen" (and the
# action items of earlier exports, "Title · P1 · @owner · due 2026-01-09").
SEP = " · "

# Opens the quote under a won't do item: its reason, on one line, before any detail.
WONT_DO_REASON = "Won't do: "

# A region the importer copies as it is, without looking for headings or lists inside. The
# exporter wraps text in it only where the text itself holds lines that would read as structure.
VERBATIM_OPEN = "<!-- hindsight:verbatim -->"
VERBATIM_CLOSE = "<!-- /hindsight:verbatim -->"

HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
# `**Key:** value`, `**Key**: value` and the same with underscores; a key is short and has no
# emphasis of its own.
FIELD_RE = re.compile(
    r"^\s{0,3}(?:\*\*|__)(?P<key>[^*_\n]{1,60}?)\s*(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:)\s*(?P<value>.*?)\s*$"
)

# The characters a byte 0x80-0xFF turns into when UTF-8 is misread as Windows-1252 (the usual
# culprit) or as Mac OS Roman (what the seed document went through). Bytes Windows-1252 leaves
# undefined come through as the C1 control of the same number.
_MOJIBAKE_RUN = re.compile(r"[^\x00-\x7f]{2,}")


def _byte_table(codec: str) -> dict[str, int]:
    table = {}
    for byte in range(0x80, 0x100):
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            char = chr(byte)
        table[char] = byte
    return table


_TABLES = (_byte_table("cp1252"), _byte_table("mac_roman"))


def _utf8_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _repair_with(run: str, table: dict[str, int]) -> tuple[str, int]:
    """Decode every UTF-8 sequence the run spells in this code page; keep the rest."""
    out: list[str] = []
    fixed = 0
    i = 0
    while i < len(run):
        lead = table.get(run[i])
        size = _utf8_length(lead) if lead is not None else 0
        if size and i + size <= len(run):
            chunk = [b for c in run[i : i + size] if (b := table.get(c)) is not None]
            if len(chunk) == size:
                try:
                    out.append(bytes(chunk).decode("utf-8"))
                except UnicodeDecodeError:
                    pass
                else:
                    fixed += size
                    i += size
                    continue
        out.append(run[i])
        i += 1
    return "".join(out), fixed


def _repair_run(match: re.Match[str]) -> str:
    run = match.group(0)
    best, best_fixed = run, 0
    for table in _TABLES:
        candidate, fixed = _repair_with(run, table)
        if fixed > best_fixed:
            best, best_fixed = candidate, fixed
    return best


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read with the wrong code page (the cp1252 or Mac Roman reading of "✅" back to "✅").

    Only runs of two or more non-ASCII characters are candidates, and only the parts of a run
    that spell valid UTF-8 change, so ordinary accented text stays as it is.
    """
    if text.isascii():
        return text
    return _MOJIBAKE_RUN.sub(_repair_run, text)


# --- Headings: compare by meaning ----------------------------------------------------------------

_NUMBERING_RE = re.compile(
    r"^(?:(?:step|part|section|phase)\s+)?(?:\d{1,3}|[ivx]{1,5}|[a-h])(?:\.\d{1,3})*[.):]\s+", re.I
)
_APOSTROPHES = str.maketrans({"'": "", "\u2019": "", "\u2018": "", "`": ""})
_PAREN_RE = re.compile(r"\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)")
_NON_WORD_RE = re.compile(r"[^\w]+")
_ALNUM_RE = re.compile(r"[a-z0-9]")


def _kept(char: str) -> bool:
    # Symbols and controls (emoji among them) are decoration; a few symbols are words' own.
    return unicodedata.category(char)[0] not in "SC" or char in "&+#%$@"


# The same test for ASCII as one translate() table: headings and labels are mostly ASCII, and
# a character at a time costs more than the rest of heading_words().
_ASCII_DROPPED = str.maketrans({c: None for c in map(chr, range(128)) if not _kept(c)})


def plain_heading(text: str) -> str:
    """A heading as people read it: emoji, emphasis, numbering and trailing colons removed,
    case kept ("🔍 **1. Root Cause Analysis:**" -> "Root Cause Analysis")."""
    text = repair_mojibake(text)
    if text.isascii():
        text = text.translate(_ASCII_DROPPED)
    else:
        text = "".join(c for c in text if _kept(c)).replace("\ufe0f", "")
    text = _EMPHASIS_RE.sub("", text).strip()
    text = _NUMBERING_RE.sub("", text)
    return text.strip(" \t:-\u2013\u2014.").strip()


def _is_decoration(char: str) -> bool:
    # Emoji and pictographs (So), private-use leftovers of garbled ones (Co), joiners and
    # variation selectors: what decorates a heading without being part of its words.
    return unicodedata.category(char) in ("So", "Co", "Cf", "Mn", "Me") or char.isspace()


def heading_title(text: str) -> str:
    """A heading as a title to store: decoration at either end, bold around the whole of it,
    numbering and a trailing colon removed; code spans and symbols inside kept
    ("🔧 **1. Keep `dist/` whole:**" -> "Keep `dist/` whole")."""
    text = repair_mojibake(text).strip()
    start, end = 0, len(text)
    while start < end and _is_decoration(text[start]):
        start += 1
    while end > start and _is_decoration(text[end - 1]):
        end -= 1
    text = text[start:end]
    bold = re.fullmatch(r"(\*\*|__)(.+?)\1(:?)", text)
    if bold:
        text = bold.group(2) + bold.group(3)
    text = _NUMBERING_RE.sub("", text)
    return text.strip().removesuffix(":").strip()


def heading_words(text: str) -> str:
    """Lowercase words of a heading for matching: "What's Working (Now):" -> "whats working".

    Parenthesised asides are dropped, and so are words with no ASCII letter or digit (what a
    garbled emoji leaves when it could not be repaired).
    """
    text = plain_heading(text)
    text = _PAREN_RE.sub(" ", text).translate(_APOSTROPHES).lower()
    words = _NON_WORD_RE.split(text)
    return " ".join(w for w in words if w and _ALNUM_RE.search(w))


def heading_asides(text: str) -> str:
    """The parenthesised asides of a heading, lowercased: "Known Issues (Pre-existing)" ->
    "pre-existing"."""
    return " ".join(m.group(0)[1:-1].lower() for m in _PAREN_RE.finditer(repair_mojibake(text)))


def heading_aside_list(text: str) -> list[str]:
    """The parenthesised asides of a heading as written, without their parentheses:
    "Production (https://example.org):" -> ["https://example.org"]."""
    return [m.group(0)[1:-1].strip() for m in _PAREN_RE.finditer(repair_mojibake(text))]


# --- Markdown writing helpers ----------------------------------------------------------------------


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`, so it cannot close early."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def looks_structural(text: str) -> bool:
    """Whether a free text holds lines the importer would read as structure (headings, field
    lines, our markers), or ends in a rule it would take for a separator."""
    in_fence = ""
    last = ""
    for line in text.split("\n"):
        fence = FENCE_RE.match(line)
        if fence and (not in_fence or fence.group(2).startswith(in_fence)):
            in_fence = "" if in_fence else fence.group(2)
            continue
        if in_fence:
            continue
        if HEADING_RE.match(line) or FIELD_RE.match(line) or "hindsight:verbatim" in line:
            return True
        if line.strip():
            last = line
    first = next((line for line in text.split("\n") if line.strip()), "")
    return bool(last and RULE_RE.match(last)) or bool(first and RULE_RE.match(first))


# A line break inside a table cell, where Markdown has no other way to write one.
CELL_BREAK = "<br>"


def table_cell(text: str) -> str:
    """`text` as one cell of a Markdown table: pipes escaped, lines joined by <br>."""
    return CELL_BREAK.join(text.strip("\n").replace("|", "\\|").split("\n"))


def cell_text(cell: str) -> str:
    """What table_cell() wrote, back as text (split_cells() has unescaped the pipes)."""
    return cell.replace(CELL_BREAK, "\n")


def wrap_verbatim(text: str) -> str:
    return f"{VERBATIM_OPEN}\n{text}\n{VERBATIM_CLOSE}"


def indent(text: str, prefix: str) -> str:
    """Every non-empty line of `text` prefixed; empty lines stay empty."""
    return "\n".join(prefix + line if line else "" for line in text.split("\n"))


def quote(text: str, prefix: str) -> str:
    """`text` as a block quote under a list item: every line quoted, empty ones too."""
    return "\n".join(f"{prefix}> {line}" if line else f"{prefix}>" for line in text.split("\n"))


def fit(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters at a word, with an ellipsis; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…", True
