from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class SearchDocument(models.Model):
    """What search reads of one incident: the text of every section in three parts (heading,
    prose, rows), and on PostgreSQL their full-text vectors.

    Written only by incidents.insights.services, after each change to the incident commits.
    Kept apart from the incident row, so a refresh never touches the version two editors
    compare-and-set against, nor its history.
    """

    incident = models.OneToOneField(
        "incidents.Incident",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search_document",
    )
    # The title and the one-line status: the strongest hint of what an incident was about.
    heading = models.TextField(blank=True)
    # Summary, impact, resolution and next step, as plain text.
    prose = models.TextField(blank=True)
    # Every kept row of every section and the messages sent, as plain text.
    rows = models.TextField(blank=True)
    # to_tsvector of the three parts (weights A, B, C); null on SQLite, which searches the text.
    vector = SearchVectorField(null=True, editable=False)
    # to_tsvector of the heading alone: what ranks a match in the title first. Small enough to be
    # read for every match, where ts_rank over `vector` would read every whole document.
    heading_vector = SearchVectorField(null=True, editable=False)
    # Set when a change asked for a refresh that has not run yet: the changes meanwhile ask for
    # no other (incidents.insights.services.search_document_mark_stale).
    stale_since = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The incident list's and the API's `q`: WHERE vector @@ websearch_to_tsquery(...).
            # Created on PostgreSQL only (migration 0026); SQLite scans the text instead.
            GinIndex(fields=["vector"], name="searchdocument_vector_idx"),
            # The search's candidates in the heading (incidents.insights.search._ranked_page):
            # WHERE heading_vector @@ ..., for a word rare in titles however common elsewhere.
            # PostgreSQL only too (migration 0033).
            GinIndex(fields=["heading_vector"], name="searchdocument_heading_idx"),
        ]

    def __str__(self) -> str:
        return f"search document of incident {self.incident_id}"
