"""A section edited as text: the text area, the preview of what it changes, and Apply.

Without JavaScript, "Preview changes" posts the form and the page comes back with the change
list and an Apply button; with htmx the change list follows the typing. Apply applies only the
text its preview was made of: a text changed after its preview is previewed again. Apply writes
every change that does not conflict; the rows it holds back are shown beside theirs, each with
"Apply mine" and "Keep theirs", and the text stays in its area.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.documents.editing import textdiff, textresolve
from incidents.documents.editing.sectiontext import HELP
from incidents.documents.editing.services import section_text_apply
from incidents.documents.forms import SectionTextForm
from incidents.models import Incident

UNPROCESSABLE = 422
CONFLICT = 409
TITLES = {
    "timeline": "Timeline",
    "status": "Current status",
    "causes": "Root cause analysis",
    "lessons": "Lessons",
    "actions": "Action items",
    "criteria": "Success criteria",
    "priorities": "Path forward",
    "notes": "Final notes",
}
# The element each section's partial on the incident page answers to.
ANCHORS = {"priorities": "section-priorities", "timeline": "section-timeline"}


def digest(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").encode()).hexdigest()[:32]


def incident_of(reference: str) -> Incident:
    try:
        return Incident.objects.select_related("service").by_reference(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None


@require_http_methods(["GET", "POST"])
@editor_required
def section_text(request: AuthenticatedHttpRequest, reference: str, key: str) -> HttpResponse:
    if key not in textdiff.TEXT_SECTIONS:
        raise Http404(f"No section {key} to edit as text.")
    incident = incident_of(reference)
    context = {
        "incident": incident,
        "title": f"{TITLES[key]} as text",
        "text_label": f"{TITLES[key]}, one row a line",
        "help": HELP[key],
        "form_action": reverse("incidents:section_text", args=[incident.reference, key]),
    }
    if request.method == "GET":
        opened = textdiff.section_open(incident, key)
        form = SectionTextForm(initial={"text": opened.text, "opened": opened.sign()})
        return render(request, "incidents/section_text.html", {**context, "form": form})

    form = SectionTextForm(request.POST)
    if not form.is_valid():
        return render(
            request, "incidents/section_text.html", {**context, "form": form}, status=UNPROCESSABLE
        )
    if form.cleaned_data["resolve"]:
        return resolve_held(request, incident, context, form, key)
    text = form.cleaned_data["text"]
    try:
        opened = textdiff.Opened.load(form.cleaned_data["opened"], incident_id=incident.pk)
    except ValueError as error:
        form.add_error(None, str(error))
        return render(
            request, "incidents/section_text.html", {**context, "form": form}, status=UNPROCESSABLE
        )
    applying = request.POST.get("action") == "apply" and form.cleaned_data["previewed"] == digest(
        text
    )
    try:
        outcome = section_text_apply(
            incident=incident,
            section=key,
            opened=opened,
            text=text,
            user=request.user,
            dry_run=not applying,
        )
    except ValueError as error:
        form.add_error(None, str(error))
        return render(
            request, "incidents/section_text.html", {**context, "form": form}, status=UNPROCESSABLE
        )
    status = 200
    if outcome.errors:
        status = UNPROCESSABLE
    elif outcome.conflicts and applying:
        pending = textresolve.Pending(
            incident.pk, key, form.cleaned_data["opened"], text, False, outcome.conflicts
        )
        fresh = textdiff.section_open(incident, key).sign()
        return held_page(request, context, text, fresh, pending, len(outcome.applied_changes))
    elif outcome.conflicts:
        status = CONFLICT
    elif applying:
        changes = len(outcome.plan.changes)
        if changes:
            messages.success(request, f"{TITLES[key]}: {changes} change(s) applied.")
        anchor = ANCHORS.get(key, f"section-{key}")
        return redirect(f"{reverse('incidents:detail', args=[incident.reference])}#{anchor}")
    preview = {
        "outcome": outcome,
        "digest": digest(text),
        "applying": applying,
    }
    if request.htmx and not applying:
        return render(request, "incidents/_section_text_preview.html", {**context, **preview})
    if outcome.plan.empty and not outcome.errors and not applying:
        messages.info(request, "The text changes nothing.")
    return render(
        request,
        "incidents/section_text.html",
        {**context, "form": form, **preview},
        status=status,
    )


def held_page(
    request: AuthenticatedHttpRequest,
    context: dict[str, Any],
    text: str,
    opened: str,
    pending: textresolve.Pending,
    applied: int | None = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    """The page after a partial apply: what waits for a choice, both values, and the text as its
    author wrote it. A further preview compares the text with the incident as it is now."""
    form = SectionTextForm(initial={"text": text, "opened": opened})
    held = textresolve.still_held(pending.conflicts)
    line = held[:1].upper() + held[1:]
    if applied is not None:
        line = f"{applied} change{'s' if applied != 1 else ''} applied; {held}"
    page = {**context, "form": form, "held": pending.conflicts, "pending": pending.sign()}
    page["held_line"] = line
    page["held_errors"] = errors or []
    return render(request, "incidents/section_text.html", page, status=CONFLICT)


def resolve_held(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    context: dict[str, Any],
    form: SectionTextForm,
    mode: str,
) -> HttpResponse:
    """Keep theirs or apply mine for one held row; back to the incident once none is left."""
    choice, _, index = form.cleaned_data["resolve"].partition(":")
    try:
        pending = textresolve.Pending.load(
            form.cleaned_data["pending"], incident=incident, mode=mode
        )
        result = textresolve.text_conflict_resolve(
            incident=incident,
            pending=pending,
            index=int(index),
            mine=choice == "mine",
            user=request.user,
        )
    except ValueError as error:
        form.add_error(None, str(error))
        return render(
            request, "incidents/section_text.html", {**context, "form": form}, status=UNPROCESSABLE
        )
    text, opened = form.cleaned_data["text"], form.cleaned_data["opened"]
    if result.pending.conflicts or result.errors:
        return held_page(request, context, text, opened, result.pending, errors=result.errors)
    messages.success(request, "Every held row is resolved.")
    return redirect(reverse("incidents:detail", args=[incident.reference]))
