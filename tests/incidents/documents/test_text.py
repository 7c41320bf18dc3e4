"""Headings reduced to their words: the ASCII short cut reads a heading as the character by
character path does, and both drop what decorates a heading. Items' leading marks. Drafts that
hold no reference cycles."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from incidents.documents.importer import parse_postmortem
from incidents.documents.importer.items import leading_mark
from incidents.documents.text import heading_words, plain_heading

DOCUMENTS = Path(__file__).parent
ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=40)


# An emoji appended sends the same text down the path for any Unicode; the emoji is decoration,
# so both must read alike.
@given(ASCII)
@hypothesis_settings(max_examples=500, deadline=None, derandomize=True)
def test_an_ascii_heading_reads_as_it_does_character_by_character(text):
    assert plain_heading(text) == plain_heading(text + "\u2705")
    assert heading_words(text) == heading_words(text + "\u2705")


def test_decoration_and_emphasis_leave_a_heading_its_words():
    assert plain_heading("🔍 **1. Root Cause Analysis:**") == "Root Cause Analysis"
    assert plain_heading("<b>~Lessons~</b> & `notes` | 100%") == "bLessons/b & notes  100%"
    assert heading_words("What's Working (Now):") == "whats working"


def test_items_with_and_without_a_leading_mark():
    assert leading_mark("  ✅ **Homepage:** up") == (True, "**Homepage:** up")
    assert leading_mark("[x] done") == (True, "done")
    assert leading_mark("❌ Nobody watched") == (False, "Nobody watched")
    assert leading_mark("• a dot") == (None, "a dot")
    assert leading_mark("  plain words ") == (None, "plain words")
    assert leading_mark("") == (None, "")


@pytest.mark.parametrize("name", sorted(p.name for p in DOCUMENTS.glob("*.md")))
def test_a_parsed_draft_is_freed_as_soon_as_it_is_dropped(name):
    """No reference cycles: the draft of a large import is freed by reference counting, not
    kept until a full pass of the garbage collector."""
    text = (DOCUMENTS / name).read_text(encoding="utf-8")
    gc.disable()
    try:
        draft = parse_postmortem(text)
        freed = weakref.ref(draft)
        del draft
        assert freed() is None
    finally:
        gc.enable()
