"""One search over every section of every incident, for the incident list and the API's `q`.

Both read the incident's stored search document (incidents.models.SearchDocument), which
incidents.insights.services keeps current after each change. On PostgreSQL the words are
matched with full-text search (websearch_to_tsquery against the document's GIN-indexed vector,
so "quoted phrases", `or` and `-word` work, and words match their other forms), and the snippet
is ts_headline's. On SQLite every word must appear somewhere in the document's text, in any
case, and the snippet is cut around the first match. Both rank the same way: a match in the
title (or the status line) first, then the newest.

A searched queryset carries the annotations SEARCH_RANK and SEARCH_IN_HEADING; search_results()
pages it at the cost of the page, whatever the number of matches; `snippets()` gives the rows of
a page their Snippets, whose parts a template prints escaped and the API gives as offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    FloatField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat

from core.lists import CappedList
from incidents.models import Incident, SearchDocument

# The text search configuration of the stored vectors and of every query: English stemming and
# stop words. Changing it needs `manage.py search_rebuild`.
SEARCH_CONFIG = "english"
# A pasted paragraph must not become a huge query: words past this many are left out.
SEARCH_MAX_TERMS = 8
SEARCH_RANK = "search_rank"
SEARCH_IN_HEADING = "search_in_heading"
# How far search_results() counts the matches: "more than 100" tells a person to narrow the
# search as well as an exact number would, and counting tests each document walked. For a word
# in a third of the scale benchmark's incidents, 100 took 340 documents (1 ms), 1,000 took 3,100
# (60 to 120 ms on a busy machine, as the planner then reads them all), all of them every one.
SEARCH_COUNT_LIMIT = 100
NEWEST = ("-started_at", "-number")
RANKED = (f"-{SEARCH_RANK}", *NEWEST)

# Where a match starts and stops in the raw snippet. Control characters that the stored text
# never holds (services strips them), so nothing a person wrote can forge a highlight.
START, STOP = "\x02", "\x03"
# The fallback's snippet: this many characters either side of the first match.
SNIPPET_REACH = 120
FRAGMENT_DELIMITER = " … "


@dataclass(frozen=True)
class Snippet:
    """The words around a match, as text, with which parts of it matched."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(part for part, _hit in self.parts)

    @property
    def highlights(self) -> list[list[int]]:
        """[start, end) offsets of each match in `text`."""
        spans, at = [], 0
        for part, hit in self.parts:
            if hit:
                spans.append([at, at + len(part)])
            at += len(part)
        return spans


def full_text() -> bool:
    """Whether this database searches with PostgreSQL's full-text search."""
    return connection.vendor == "postgresql"


def search_terms(text: str) -> str:
    """The words of `text` that are searched for, at most SEARCH_MAX_TERMS of them."""
    return " ".join(text.split()[:SEARCH_MAX_TERMS])


def incident_search(queryset: QuerySet[Incident], text: str) -> QuerySet[Incident]:
    """Narrow `queryset` to incidents whose search document matches `text`, best match first
    (then newest), annotated with SEARCH_RANK. snippets() gives the rows of a page their
    snippets."""
    terms = search_terms(text)
    searched = _full_text_search if full_text() else _plain_search
    return searched(queryset, terms).order_by(*RANKED)


def is_searched(queryset: QuerySet[Any]) -> bool:
    """Whether incident_search() narrowed `queryset`, so its rows carry a rank."""
    return SEARCH_RANK in queryset.query.annotations


def _query(terms: str) -> SearchQuery:
    return SearchQuery(terms, config=SEARCH_CONFIG, search_type="websearch")


def _full_text_search(queryset: QuerySet[Incident], terms: str) -> QuerySet[Incident]:
    query = _query(terms)
    # Ranked by where it matched, not by ts_rank: ts_rank reads every matching document whole
    # (100 ms for 2,800 matches of 10,000 incidents, growing with them), the heading's small
    # vector costs next to nothing.
    in_heading = Q(search_document__heading_vector=query)
    return queryset.filter(search_document__vector=query).annotate(**_ranks(in_heading))


def _ranks(in_heading: Q) -> dict[str, Any]:
    return {
        SEARCH_IN_HEADING: ExpressionWrapper(in_heading, output_field=BooleanField()),
        SEARCH_RANK: Case(
            When(in_heading, then=Value(1.0)), default=Value(0.5), output_field=FloatField()
        ),
    }


def plain_search(queryset: QuerySet[Incident], text: str) -> QuerySet[Incident]:
    """The SQLite search, on any database: every word somewhere in the document, any case."""
    return _plain_search(queryset, search_terms(text)).order_by(*RANKED)


def _plain_search(queryset: QuerySet[Incident], terms: str) -> QuerySet[Incident]:
    words = _plain_words(terms)
    in_title = Q()
    for word in words:
        queryset = queryset.filter(
            Q(search_document__heading__icontains=word)
            | Q(search_document__prose__icontains=word)
            | Q(search_document__rows__icontains=word)
        )
        in_title &= Q(search_document__heading__icontains=word)
    # Simple: an incident whose heading holds every word before one that only mentions them.
    return queryset.annotate(**_ranks(in_title))


def search_results(
    rows: QuerySet[Any], *, count: QuerySet[Incident], ranked: bool = True, full: bool | None = None
) -> CappedList:
    """A searched queryset (`rows`, in any shape: models or values) as the paginators take it,
    each page costing what it shows however many incidents match.

    `count` is the same search without what the rows join; it is counted up to
    SEARCH_COUNT_LIMIT (CappedList). `ranked` pages in the search's order (RANKED); False keeps
    the order of `rows`. `full` False pages as on SQLite on any database."""
    counted = count.order_by(*NEWEST).values("pk")
    full = full_text() if full is None else full
    page = None
    if ranked and full:
        page = partial(_ranked_page, rows)
    elif ranked:
        rows = rows.order_by(*RANKED)
    return CappedList(rows, count=counted, cap=SEARCH_COUNT_LIMIT, page=page)


def _ranked_page(rows: QuerySet[Any], start: int, stop: int) -> list[Any]:
    # Sorting every match by rank would read every match. The first `stop` rows in RANKED order
    # are among the `stop` newest matches and the `stop` newest matches in the heading (the
    # heading's come first; after them come the newest of the rest, no further down than
    # `stop` of all), and both walk the newest-first index until they have enough (or, for a
    # rare word, read its few matches through a GIN index). Only those candidates are ranked.
    if stop <= start:
        return []
    newest = rows.order_by(*NEWEST).values("pk")
    in_heading = newest.filter(**{SEARCH_IN_HEADING: True})
    candidates = newest[:stop].union(in_heading[:stop], all=True)
    return list(rows.filter(pk__in=candidates).order_by(*RANKED)[start:stop])


def _document_text() -> Concat:
    return Concat("heading", Value("\n"), "prose", Value("\n"), "rows", output_field=TextField())


def snippets(
    incident_ids: Iterable[int], text: str, *, full: bool | None = None
) -> dict[int, Snippet]:
    """The snippet of each of these incidents (a page's rows) for `text`, in one query.

    Apart from the search itself, so that ts_headline, which reads a whole document, runs for
    the rows shown and not for every match. `full` False asks for the SQLite snippet on any
    database."""
    ids = list(incident_ids)
    if not ids:
        return {}
    documents = SearchDocument.objects.filter(incident_id__in=ids)
    if full_text() if full is None else full:
        headline = SearchHeadline(
            _document_text(),
            _query(search_terms(text)),
            config=SEARCH_CONFIG,
            start_sel=START,
            stop_sel=STOP,
            max_words=30,
            min_words=12,
            max_fragments=2,
            fragment_delimiter=FRAGMENT_DELIMITER,
        )
        found = documents.annotate(headline=headline).values_list("incident_id", "headline")
        return {pk: _marked(raw) for pk, raw in found}
    texts = documents.annotate(text=_document_text()).values_list("incident_id", "text")
    return {pk: plain_snippet(document, text) for pk, document in texts}


def snippets_attach(rows: Iterable[Incident], text: str) -> None:
    """Give each searched incident of a page its `snippet`, for the template."""
    rows = list(rows)
    found = snippets([row.pk for row in rows], text)
    for row in rows:
        row.snippet = found.get(row.pk, Snippet(parts=()))  # type: ignore[attr-defined]


def _plain_words(terms: str) -> list[str]:
    # The operators of full-text search mean nothing here: quotes are dropped, `or` and a leading
    # `-` are searched as written.
    return [word for word in terms.replace('"', " ").split() if word]


def _marked(raw: str) -> Snippet:
    parts: list[tuple[str, bool]] = []
    for piece in re.split(f"({START}[^{STOP}]*{STOP})", _one_line(raw)):
        if piece.startswith(START):
            parts.append((piece[1:-1], True))
        elif piece:
            parts.append((piece, False))
    return Snippet(parts=tuple(parts))


def plain_snippet(document: str, text: str) -> Snippet:
    """The SQLite snippet, on any database: the document around the first match of any word
    of `text`, every word highlighted in it."""
    words = _plain_words(search_terms(text))
    if not words:
        return Snippet(parts=())
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(document)
    if first is None:
        return Snippet(parts=())
    start = max(0, first.start() - SNIPPET_REACH)
    end = min(len(document), first.end() + SNIPPET_REACH)
    # Whole words at both ends, where there is a space to cut at.
    if start > 0 and (space := document.find(" ", start, first.start())) >= 0:
        start = space + 1
    if end < len(document) and (space := document.rfind(" ", first.end(), end)) >= 0:
        end = space
    window = _one_line(document[start:end])
    parts: list[tuple[str, bool]] = [("… ", False)] if start > 0 else []
    at = 0
    for match in pattern.finditer(window):
        if match.start() > at:
            parts.append((window[at : match.start()], False))
        parts.append((match.group(0), True))
        at = match.end()
    if at < len(window):
        parts.append((window[at:], False))
    if end < len(document):
        parts.append((" …", False))
    return Snippet(parts=tuple(parts))


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)
