from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from incidents import selectors, services
from incidents.filters import IncidentFilter
from incidents.forms.declare import IncidentDeclareForm
from incidents.permissions import editor_required

LIST_PAGE_SIZE = 25


@require_GET
@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    filters = IncidentFilter(request.GET, queryset=selectors.incident_list())
    # A filter that does not validate shows its error and no rows: rows filtered by the other
    # fields alone would look like an answer to the question the person asked.
    incidents = filters.qs if filters.is_valid() else filters.queryset.none()
    page = Paginator(incidents, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/incident_list.html",
        {"page": page, "filters": filters, "filter_params": filters.active_params},
    )


@require_http_methods(["GET", "POST"])
@editor_required
def incident_declare(request: HttpRequest) -> HttpResponse:
    form = IncidentDeclareForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            incident = services.incident_create(**form.cleaned_data, created_by=request.user)
        except ValidationError as error:
            # The model's own rules, checked again by the service; shown like the form's.
            by_field = (
                error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            )
            for field, field_errors in by_field.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, f"{incident.reference} declared.")
            return redirect("incidents:detail", incident.reference)
    status = 422 if form.errors else 200
    return render(request, "incidents/incident_declare.html", {"form": form}, status=status)


urlpatterns = [
    path("incidents/", incident_list, name="list"),
    # Before any incidents/<reference>/ pattern, so "new" is never read as a reference.
    path("incidents/new/", incident_declare, name="declare"),
]
