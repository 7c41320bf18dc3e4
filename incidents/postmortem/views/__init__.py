"""The incident page is the post-mortem document, and it is edited in place.

Every write answers an htmx request with the fragment to swap in (the section, or the form with
its errors) and a plain form POST with a redirect or the full form page, so the page works with
the keyboard and without JavaScript. One module per part of the page:

- page: the page itself, its fragments and its history
- declare: declaring an incident
- prose: the prose and details of the incident row, with their conflicts
- transitions: the status and the post-mortem state
- tags: the labels and external references
- duplicates: closing an incident as a duplicate, and undoing it
- rows: the rows of the sections (added, edited, moved and deleted in place, one table in
  sections.py driving them all), with their conflicts
- row_states: one-click changes to a row (hidden, done, an action item's status)
- preview: the Markdown preview
- _common: what they share (finding the incident, arranging the document, answering a write)

The names are gathered here, so `views.prose_edit` and `from incidents.postmortem.views import
get_incident` keep working for urls.py and the other rooms.
"""

from __future__ import annotations

from incidents.postmortem.views._common import (
    UNPROCESSABLE,
    after_write,
    document_context,
    form_response,
    get_incident,
)
from incidents.postmortem.views.declare import incident_declare
from incidents.postmortem.views.duplicates import mark_duplicate, unmark_duplicate
from incidents.postmortem.views.page import FRAGMENTS, fragment, history, incident_detail
from incidents.postmortem.views.preview import markdown_preview
from incidents.postmortem.views.prose import details_edit, prose_edit
from incidents.postmortem.views.row_states import (
    action_item_status,
    criterion_toggle,
    timeline_event_hide,
)
from incidents.postmortem.views.rows import section_row_delete, section_row_form, section_row_move
from incidents.postmortem.views.tags import tags_edit
from incidents.postmortem.views.transitions import resolve, set_postmortem_state, set_status

__all__ = [
    "FRAGMENTS",
    "UNPROCESSABLE",
    "action_item_status",
    "after_write",
    "criterion_toggle",
    "details_edit",
    "document_context",
    "form_response",
    "fragment",
    "get_incident",
    "history",
    "incident_declare",
    "incident_detail",
    "mark_duplicate",
    "markdown_preview",
    "prose_edit",
    "resolve",
    "section_row_delete",
    "section_row_form",
    "section_row_move",
    "set_postmortem_state",
    "set_status",
    "tags_edit",
    "timeline_event_hide",
    "unmark_duplicate",
]
