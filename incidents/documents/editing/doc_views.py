"""The whole post-mortem as one document: "Edit as document" and "Paste a post-mortem" into an
existing incident. Both preview what they change and apply it as a section's text does."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.documents.editing import doctext, textresolve
from incidents.documents.editing.paste import pasted_document
from incidents.documents.editing.text_views import (
    CONFLICT,
    UNPROCESSABLE,
    digest,
    held_page,
    incident_of,
    resolve_held,
)
from incidents.documents.forms import SectionTextForm
from incidents.documents.importer import DocumentError
from incidents.models import Incident

DOCUMENT_HELP = (
    "The post-mortem in the export's Markdown: # title, then ## Summary, Impact, Timeline, "
    "Resolution, Current Status, Root Cause Analysis, Lessons Learned, Action Items, Path "
    "Forward, Success Criteria, Final Notes and Next Step, each list in its text syntax (see "
    "Edit as text on each section). A part you delete is emptied. The facts under the title "
    "and the communications have their own controls."
)
PASTE_HELP = (
    "Paste a post-mortem in any layout the import reads (Hindsight's export, the seed's, Google "
    "SRE's, PagerDuty's). The parts it has replace this incident's, row by row: rows with the "
    "same words are updated in place; parts it does not have stay as they are."
)


def _page(
    request: AuthenticatedHttpRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, "incidents/section_text.html", context, status=status)


def _handle(
    request: AuthenticatedHttpRequest, incident: Incident, context: dict[str, Any], *, paste: bool
) -> HttpResponse:
    if request.method == "GET":
        text, opened = doctext.document_open(incident)
        form = SectionTextForm(initial={"text": "" if paste else text, "opened": opened.sign()})
        return _page(request, {**context, "form": form})
    form = SectionTextForm(request.POST)
    if not form.is_valid():
        return _page(request, {**context, "form": form}, UNPROCESSABLE)
    if form.cleaned_data["resolve"]:
        return resolve_held(request, incident, context, form, textresolve.DOCUMENT)
    text = form.cleaned_data["text"]
    try:
        opened = doctext.DocOpened.load(form.cleaned_data["opened"], incident_id=incident.pk)
        document, left_out = pasted_document(incident, text) if paste else (text, [])
    except DocumentError as error:
        form.add_error(None, error.message)
        return _page(request, {**context, "form": form}, UNPROCESSABLE)
    except ValueError as error:
        form.add_error(None, str(error))
        return _page(request, {**context, "form": form}, UNPROCESSABLE)
    applying = request.POST.get("action") == "apply" and form.cleaned_data["previewed"] == digest(
        text
    )
    outcome = doctext.document_apply(
        incident=incident,
        opened=opened,
        text=document,
        user=request.user,
        dry_run=not applying,
        keep_missing=paste,
    )
    status = UNPROCESSABLE if outcome.errors else CONFLICT if outcome.conflicts else 200
    if outcome.conflicts and applying and not outcome.errors:
        pending = textresolve.Pending(
            incident.pk,
            textresolve.DOCUMENT,
            form.cleaned_data["opened"],
            document,
            paste,
            outcome.conflicts,
        )
        fresh = doctext.document_open(Incident.objects.get(pk=incident.pk))[1].sign()
        applied = len(outcome.applied_changes) + len(outcome.applied_prose)
        return held_page(request, context, text, fresh, pending, applied)
    if applying and not outcome.errors:
        messages.success(request, "The post-mortem was updated.")
        return redirect(reverse("incidents:detail", args=[incident.reference]))
    preview = {"outcome": outcome, "digest": digest(text), "applying": applying}
    if paste:
        preview["document"] = document
        preview["left_out"] = left_out
    if request.htmx and not applying:
        return render(request, "incidents/_section_text_preview.html", {**context, **preview})
    return _page(request, {**context, "form": form, **preview}, status)


@require_http_methods(["GET", "POST"])
@editor_required
def document_edit(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = incident_of(reference)
    context = {
        "incident": incident,
        "title": "The post-mortem as a document",
        "text_label": "The whole post-mortem, in Markdown",
        "help": DOCUMENT_HELP,
        "form_action": reverse("incidents:document_edit", args=[incident.reference]),
    }
    return _handle(request, incident, context, paste=False)


@require_http_methods(["GET", "POST"])
@editor_required
def document_paste(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = incident_of(reference)
    context = {
        "incident": incident,
        "title": "Paste a post-mortem",
        "text_label": "A post-mortem in Markdown",
        "help": PASTE_HELP,
        "form_action": reverse("incidents:document_paste", args=[incident.reference]),
    }
    return _handle(request, incident, context, paste=True)
