"""The incident page's writes as its forms post them: declaring, the texts and details, the
sections' rows and their text, the whole document, transitions, duplicates, the draft, the status
page's visibility, attachments, imports, communications, action items and the preview."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.documents.editing import doctext as edited_doc
from incidents.documents.editing import textdiff
from incidents.documents.editing.text_views import digest
from incidents.documents.forms import sign_document
from tests.reliability.writes import World, Write, current, page
from tests.reliability.writes_api import imported


def _section_text(w: World, key: str, line: str) -> dict:
    """The section's text as its form opened it, with one line added, sent to be applied."""
    opened = textdiff.section_open(w.incident, key)
    text = f"{opened.text.rstrip()}\n{line}\n"
    return {"text": text, "opened": opened.sign(), "previewed": digest(text), "action": "apply"}


def _document(w: World, *, paste: bool) -> dict:
    """The whole document as its form opened it, with a line of summary (or, pasted, a post-mortem
    from elsewhere), sent to be applied."""
    text, opened = edited_doc.document_open(w.incident)
    if paste:
        text = imported("Search", 4)
    else:
        text = text.replace("## Summary\n", "## Summary\n\nCheckout timed out for a while.\n", 1)
    return {"text": text, "opened": opened.sign(), "previewed": digest(text), "action": "apply"}


def _message(w: World, use: str, tail: str) -> str:
    return page(w, f"communications/{w.of(f'message:{use}').pk}/{tail}")


def _item(w: World, use: str, tail: str) -> str:
    return f"/action-items/{w.of(f'item:{use}').pk}/{tail}"


POSTMORTEM: list[Write] = [
    Write(
        "incidents:declare",
        "POST",
        lambda w: "/incidents/new/",
        lambda w: {
            "service": w.service.pk,
            "title": "Queue",
            "severity": "sev2",
            "started_at": "2026-01-02T06:02",
        },
    ),
    Write(
        "incidents:prose_edit",
        "POST",
        lambda w: page(w, "text/summary/edit"),
        lambda w: {"value": "Writes stalled.", "version": current(w.incident)},
    ),
    Write(
        "incidents:details_edit",
        "POST",
        lambda w: page(w, "details/edit"),
        lambda w: {
            "title": "Checkout timed out",
            "severity": "sev2",
            "status_line": "",
            "started_at": "2026-01-02T06:02",
            "resolved_at": "2026-01-02T06:30",
            "version": current(w.incident),
        },
    ),
    Write(
        "incidents:tags_edit",
        "POST",
        lambda w: page(w, "labels/edit"),
        lambda w: {"labels": "checkout, build", "references": "pager:P1X2"},
    ),
    Write(
        "incidents:row_new",
        "POST",
        lambda w: page(w, "timeline/new"),
        lambda w: {"occurred_at": "2026-01-02T06:03", "kind": "detected", "text": "Paged."},
    ),
    Write(
        "incidents:row_edit",
        "POST",
        lambda w: page(w, f"lessons/{w.of('lessons:page').pk}/edit"),
        lambda w: {
            "kind": "went_right",
            "text": "The rollback took a minute.",
            "version": current(w.of("lessons:page")),
        },
    ),
    Write(
        "incidents:row_delete",
        "POST",
        lambda w: page(w, f"causes/{w.of('causes:page').pk}/delete"),
        lambda w: {"version": current(w.of("causes:page"))},
    ),
    Write(
        "incidents:row_move",
        "POST",
        lambda w: page(w, f"criteria/{w.of('success-criteria:page').pk}/move"),
        lambda w: {"direction": "up"},
    ),
    Write(
        "incidents:timeline_hide",
        "POST",
        lambda w: page(w, f"timeline/{w.of('timeline-events:page').pk}/hidden"),
        lambda w: {"hidden": "1"},
    ),
    Write(
        "incidents:criterion_toggle",
        "POST",
        lambda w: page(w, f"criteria/{w.criterion.pk}/done"),
        lambda w: {"done": "1"},
    ),
    Write(
        "incidents:action_item_status",
        "POST",
        lambda w: page(w, f"actions/{w.of('item:status').pk}/status"),
        lambda w: {"to": "in_progress"},
    ),
    Write(
        "incidents:section_text",
        "POST",
        lambda w: page(w, "lessons/text"),
        lambda w: _section_text(w, "lessons", "- went_wrong: The alert came late."),
    ),
    Write(
        "incidents:document_edit",
        "POST",
        lambda w: page(w, "document/edit"),
        lambda w: _document(w, paste=False),
    ),
    Write(
        "incidents:document_paste",
        "POST",
        lambda w: page(w, "document/paste"),
        lambda w: _document(w, paste=True),
    ),
    Write(
        "incidents:set_status",
        "POST",
        lambda w: f"/incidents/{w.open[0].reference}/status",
        lambda w: {"status": "identified", "at": "2026-01-02T06:10"},
    ),
    Write(
        "incidents:resolve",
        "POST",
        lambda w: f"/incidents/{w.open[1].reference}/resolve",
        lambda w: {"resolved_at": "2026-01-02T06:30"},
    ),
    Write(
        "incidents:set_postmortem_state",
        "POST",
        lambda w: page(w, "postmortem-state"),
        lambda w: {"state": "in_review"},
    ),
    Write(
        "incidents:mark_duplicate",
        "POST",
        lambda w: f"/incidents/{w.of('incident:duplicate').reference}/duplicate",
        lambda w: {"of": w.ref},
    ),
    Write(
        "incidents:unmark_duplicate",
        "POST",
        lambda w: f"/incidents/{w.of('incident:undo-duplicate').reference}/duplicate/undo",
    ),
    Write(
        "incidents:mark_as_cause",
        "POST",
        lambda w: page(w, f"system/deployments/{w.deployment.pk}/mark-as-cause"),
    ),
    Write("incidents:draft_propose", "POST", lambda w: page(w, "draft/propose")),
    Write(
        "incidents:draft_keep",
        "POST",
        lambda w: f"/incidents/{w.of('draft:page-keep').reference}/draft/keep",
        lambda w: {"what": "all"},
    ),
    Write(
        "incidents:draft_discard",
        "POST",
        lambda w: f"/incidents/{w.of('draft:page-discard').reference}/draft/discard",
        lambda w: {"what": "all"},
    ),
    Write("incidents:incident_publish", "POST", lambda w: page(w, "status-page/publish")),
    Write(
        "incidents:incident_unpublish",
        "POST",
        lambda w: f"/incidents/{w.of('incident:page-published').reference}/status-page/unpublish",
    ),
    Write(
        "incidents:attachment_upload",
        "POST",
        lambda w: page(w, "attachments/new"),
        lambda w: {"file": SimpleUploadedFile("worker.log", b"worker exited 1\n")},
    ),
    Write(
        "incidents:import",
        "POST",
        lambda w: "/incidents/import/",
        lambda w: {"markdown": imported("Sign-up", 5), "service": "moodmash"},
    ),
    Write(
        "incidents:import_confirm",
        "POST",
        lambda w: "/incidents/import/confirm",
        lambda w: {
            "document": sign_document(text=imported("Login", 6), title="", service="moodmash")
        },
    ),
    Write(
        "incidents:preview",
        "POST",
        lambda w: "/preview?field=text",
        lambda w: {"text": "**Paged** the on-call."},
    ),
]

COMMUNICATIONS: list[Write] = [
    Write(
        "incidents:communication_generate",
        "POST",
        lambda w: page(w, "communications/generate"),
        lambda w: {"template": "user-email-resolved"},
    ),
    Write(
        "incidents:communication_edit",
        "POST",
        lambda w: _message(w, "page-edit", "edit"),
        lambda w: {
            "subject": "Checkout works again",
            "body": "Checkout works again.",
            "expected": w.of("message:page-edit").updated_at.isoformat(),
        },
    ),
    Write(
        "incidents:communication_approve", "POST", lambda w: _message(w, "page-approve", "approve")
    ),
    Write("incidents:communication_send", "POST", lambda w: _message(w, "page-send", "send")),
    Write(
        "incidents:communication_correct", "POST", lambda w: _message(w, "page-correct", "correct")
    ),
    Write(
        "incidents:communication_discard", "POST", lambda w: _message(w, "page-discard", "discard")
    ),
    Write(
        "incidents:communication_retract",
        "POST",
        lambda w: _message(w, "page-retract", "retract"),
        lambda w: {"reason": "It named the wrong day."},
    ),
    Write(
        "incidents:communication_template_new",
        "POST",
        lambda w: "/communications/templates/new",
        lambda w: {
            "name": "Email to users: investigating",
            "slug": "user-email-looking",
            "audience": "user_email",
            "phase": "",
            "subject_template": "{{ service }}: we are looking into it",
            "body_template": "We are looking into problems with {{ service }}.",
        },
    ),
    Write(
        "incidents:communication_template_edit",
        "POST",
        lambda w: "/communications/templates/public-postmortem/edit",
        lambda w: {
            "name": "Public post-mortem",
            "slug": "public-postmortem",
            "audience": "public_postmortem",
            "phase": "",
            "subject_template": "What happened to {{ service }}",
            "body_template": "{{ service }} had problems.",
        },
    ),
]

ACTION_ITEMS: list[Write] = [
    Write("incidents:action_item_done", "POST", lambda w: _item(w, "page-done", "done")),
    Write("incidents:action_item_undone", "POST", lambda w: _item(w, "page-undone", "undone")),
    Write("incidents:action_item_start", "POST", lambda w: _item(w, "page-start", "start")),
    Write(
        "incidents:action_item_wont_do",
        "POST",
        lambda w: _item(w, "page-wont-do", "wont-do"),
        lambda w: {"reason": "The new build check covers it."},
    ),
    Write(
        "incidents:action_item_assign",
        "POST",
        lambda w: _item(w, "assign", "assign"),
        lambda w: {"owner": "editor-user", "priority": "p1", "due_date": "2026-02-01"},
    ),
]

PAGE_WRITES: list[Write] = [*POSTMORTEM, *COMMUNICATIONS, *ACTION_ITEMS]
