"""The incident page, its fragments (what a Cancel button swaps back in) and its history."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from incidents.live.selectors import page_live_context
from incidents.models import Incident
from incidents.postmortem import selectors
from incidents.postmortem.sections import PROSE_FIELDS, SECTIONS
from incidents.postmortem.selectors import incident_history
from incidents.postmortem.views._common import _render_fragment, document_context, get_incident


@require_GET
@login_required
def incident_detail(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    live = page_live_context(reference)
    try:
        incident = selectors.incident_document(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return render(
        request, "incidents/incident_detail.html", {**document_context(incident), "live": live}
    )


# Fragments a Cancel button swaps back in: the part of the page as it is now.
FRAGMENTS = {
    "summary-box": ("incidents/prose/_summary_box.html", {}),
    **{f"prose-{f}": ("incidents/prose/_field.html", {"field": f}) for f in PROSE_FIELDS},
    **{f"section-{s.partial_key}": (s.partial, {}) for s in SECTIONS.values()},
}


@require_GET
@login_required
def fragment(request: AuthenticatedHttpRequest, reference: str, name: str) -> HttpResponse:
    if name not in FRAGMENTS:
        raise Http404(f"No part {name}.")
    template, extra = FRAGMENTS[name]
    return _render_fragment(request, get_incident(reference), template, **extra)


@require_GET
@login_required
def history(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    try:
        incident = Incident.objects.select_related("service").by_reference(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return render(
        request,
        "incidents/history.html",
        {"incident": incident, "changes": incident_history(incident)},
    )
