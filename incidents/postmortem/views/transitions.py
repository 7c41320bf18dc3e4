"""The incident's status (resolving asks for the end) and its post-mortem state."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required
from incidents.models import Incident
from incidents.postmortem import services
from incidents.postmortem.forms import ResolveForm, StatusForm
from incidents.postmortem.views._common import UNPROCESSABLE, form_response, get_incident


def _transition_page(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: StatusForm | ResolveForm,
    status: int = 200,
) -> HttpResponse:
    return form_response(
        request,
        "incidents/prose/_transition_form.html",
        {"incident": incident, "form": form, "resolving": isinstance(form, ResolveForm)},
        status,
    )


def _apply_transition(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: StatusForm | ResolveForm,
    **change: Any,
) -> HttpResponse:
    try:
        services.incident_set_status(incident=incident, user=request.user, **change)
    except ValidationError as error:
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return _transition_page(request, incident, form, UNPROCESSABLE)
    except services.StaleVersion:
        messages.error(request, "Others kept changing the status meanwhile; look and try again.")
    return redirect("incidents:detail", incident.reference)


@require_POST
@editor_required
def set_status(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    form = StatusForm(request.POST, incident=incident)
    if not form.is_valid():
        return _transition_page(request, incident, form, UNPROCESSABLE)
    return _apply_transition(
        request, incident, form, status=form.cleaned_data["status"], at=form.cleaned_data["at"]
    )


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def resolve(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Resolving asks for the end, prefilled with the one already written down, else now."""
    incident = get_incident(reference)
    kept = form_kept(request) if request.method == "GET" else None
    if kept is not None:
        return _transition_page(request, incident, ResolveForm(kept, incident=incident))
    if request.method == "GET":
        return _transition_page(request, incident, ResolveForm(incident=incident))
    form = ResolveForm(request.POST, incident=incident)
    if not form.is_valid():
        return _transition_page(request, incident, form, UNPROCESSABLE)
    return _apply_transition(
        request,
        incident,
        form,
        status=Incident.Status.RESOLVED,
        at=form.cleaned_data["resolved_at"],
    )


@require_POST
@editor_required
def set_postmortem_state(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    state = request.POST.get("state", "")
    if state not in Incident.PostmortemState.values:
        messages.error(request, "Choose one of the listed post-mortem states.")
    else:
        try:
            services.incident_set_postmortem_state(
                incident=incident, state=state, user=request.user
            )
        except services.StaleVersion:
            messages.error(request, "Others kept changing the state meanwhile; look and try again.")
    return redirect("incidents:detail", incident.reference)
