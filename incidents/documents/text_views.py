"""A section edited as text: the text area, the preview of what it changes, and Apply.

Without JavaScript, "Preview changes" posts the form and the page comes back with the change
list and an Apply button; with htmx the change list follows the typing. Apply applies only the
text its preview was made of: a text changed after its preview is previewed again.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.documents import textdiff, textedit
from incidents.documents.forms import SectionTextForm
from incidents.documents.sectiontext import HELP
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
    text = form.cleaned_data["text"]
    try:
        opened = textdiff.Opened.load(form.cleaned_data["opened"])
    except ValueError as error:
        form.add_error(None, str(error))
        return render(
            request, "incidents/section_text.html", {**context, "form": form}, status=UNPROCESSABLE
        )
    applying = request.POST.get("action") == "apply" and form.cleaned_data["previewed"] == digest(
        text
    )
    try:
        outcome = textedit.section_text_apply(
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
    elif outcome.conflicts:
        status = CONFLICT
        if applying:
            # Their rows as they are now become what this text starts from: Apply again puts
            # this text on top on purpose, as the row forms do.
            fresh = textdiff.section_open(incident, key)
            form = SectionTextForm(
                initial={"text": text, "opened": fresh.sign(), "previewed": digest(text)}
            )
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
