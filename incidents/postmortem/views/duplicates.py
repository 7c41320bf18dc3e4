"""Closing an incident as a duplicate of another, and undoing it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.postmortem import services
from incidents.postmortem.forms import DuplicateForm
from incidents.postmortem.views._common import get_incident


@require_POST
@editor_required
def mark_duplicate(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Close the incident as a duplicate of the one named; the page then says so and links it."""
    incident = get_incident(reference)
    form = DuplicateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect("incidents:detail", incident.reference)
    try:
        services.incident_mark_duplicate(
            incident=incident, original=form.cleaned_data["of"], user=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except services.StaleVersion:
        messages.error(request, "Others kept changing the incident meanwhile; look and try again.")
    else:
        assert incident.duplicate_of is not None  # the service set it
        messages.success(
            request,
            f"{incident.reference} is now a duplicate of {incident.duplicate_of.reference}.",
        )
    return redirect("incidents:detail", incident.reference)


@require_POST
@editor_required
def unmark_duplicate(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Undo a duplicate: the incident counts again, as it was before."""
    incident = get_incident(reference)
    try:
        services.incident_unmark_duplicate(incident=incident, user=request.user)
    except services.StaleVersion:
        messages.error(request, "Others kept changing the incident meanwhile; look and try again.")
    else:
        messages.success(request, f"{incident.reference} is no longer a duplicate.")
    return redirect("incidents:detail", incident.reference)
