"""Round trips of documents: one imported and exported again keeps every list item it had, and
reads the same with Windows line endings."""

from __future__ import annotations

import re

import pytest

from incidents.documents import services
from incidents.documents.exports import export_incident
from incidents.documents.text import repair_mojibake
from tests.incidents.test_roundtrip import DOCUMENTS, LAYOUTS, structure

pytestmark = pytest.mark.django_db

_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?(?P<text>\S.*)$")


def _words(text: str) -> list[str]:
    # A timeline line's date may go: the export writes it once, in the header, for its day.
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", " ", repair_mojibake(text))
    return re.findall(r"[a-z0-9]+", text.lower())


def list_items(markdown: str) -> list[str]:
    """The first line of every list item outside code fences."""
    items, fence = [], False
    for line in markdown.replace("\r\n", "\n").split("\n"):
        if line.strip().startswith(("```", "~~~")):
            fence = not fence
            continue
        match = None if fence else _ITEM_RE.match(line)
        if match and _words(match.group("text")):
            items.append(match.group("text"))
    return items


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("line_ending", ["lf", "crlf"])
def test_a_document_exported_after_import_keeps_every_list_item(name, line_ending):
    source = (DOCUMENTS / name).read_text(encoding="utf-8")
    if line_ending == "crlf":
        source = crlf(source)
    incident = services.postmortem_import(
        data=source, user=None, service_slug="docs", create_service=True
    ).incident

    exported = export_incident(incident.reference, "md").text()

    lines = exported.split("\n")
    windows = [set(_words(" ".join(lines[i : i + 4]))) for i in range(len(lines))]
    missing = [
        item for item in list_items(source) if not any(set(_words(item)) <= w for w in windows)
    ]
    assert list_items(source), "the fixture has list items"
    assert missing == []


@pytest.mark.parametrize("name", LAYOUTS)
def test_windows_line_endings_read_the_same_as_unix_ones(name):
    source = (DOCUMENTS / name).read_text(encoding="utf-8")
    lf = services.postmortem_import(
        data=source, user=None, service_slug="docs", create_service=True
    )
    # The same document to the import, whatever its line endings: a second copy on purpose.
    with_crlf = services.postmortem_import(
        data=crlf(source), user=None, service_slug="docs", create_service=True, force=True
    )

    assert structure(with_crlf.incident) == structure(lf.incident)
