"""Whether an incident is on the status page: the switch on the incident's page (editors). The
page asks first, showing what goes public."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.postmortem.views import get_incident
from incidents.statuspage import services


def _back_to_visibility(reference: str) -> HttpResponse:
    return redirect(reverse("incidents:detail", args=[reference]) + "#visibility")


@require_POST
@editor_required
def incident_publish(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Put the incident on the status page (the page asked first, showing what goes public)."""
    incident = get_incident(reference)
    services.incident_publish(incident=incident, user=request.user)
    messages.success(request, f"{incident.reference} is on the status page now.")
    return _back_to_visibility(incident.reference)


@require_POST
@editor_required
def incident_unpublish(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    services.incident_unpublish(incident=incident, user=request.user)
    messages.success(request, f"{incident.reference} is internal now: off the status page.")
    return _back_to_visibility(incident.reference)
