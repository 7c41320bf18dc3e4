"""Declaring an incident: one form, safe to submit twice."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required
from incidents.insights.recurrence.selectors import similar_incidents
from incidents.models import Incident
from incidents.postmortem import selectors, services
from incidents.postmortem.forms import IncidentDeclareForm


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def incident_declare(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else form_kept(request)
    form = IncidentDeclareForm(data)
    if form.is_valid() and request.method == "POST":
        made = selectors.incident_declared_already(
            user=request.user, **form.cleaned_data, now=timezone.now()
        )
        if made is not None:
            messages.info(request, f"{made.reference} was declared with this form already.")
            return redirect("incidents:detail", made.reference)
        try:
            incident = services.incident_create(**form.cleaned_data, created_by=request.user)
        except IntegrityError:
            # The same form, submitted twice at once: the other submit declared it.
            made = Incident.objects.get(creation_key=form.cleaned_data["creation_key"])
            return redirect("incidents:detail", made.reference)
        except ValidationError as error:
            # The model's own rules, checked again by the service; shown like the form's.
            by_field = (
                error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            )
            for field, field_errors in by_field.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, _declared(incident))
            return redirect("incidents:detail", incident.reference)
    status = 422 if form.errors else 200
    return render(request, "incidents/incident_declare.html", {"form": form}, status=status)


def _declared(incident: Incident) -> str:
    """What the person reads after declaring: the reference and, when earlier incidents look
    like this one, a pointer to them while the promises they left open still matter."""
    similar = similar_incidents(incident)
    if not similar:
        return f"{incident.reference} declared."
    named = ", ".join(found.incident.reference for found in similar)
    return (
        f"{incident.reference} declared. Earlier incidents look like it ({named}): see "
        "“Similar past incidents” for what they left open."
    )
