"""Rows of the post-mortem's sections, added, edited, moved and deleted in place.

Which model and fields each section has is in incidents.sections; the responses follow the
incident page's rules (see incident_page): a fragment for htmx, a redirect or a full page
otherwise.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from incidents import services
from incidents.forms.document import section_form_class
from incidents.models import Incident
from incidents.permissions import editor_required
from incidents.sections import SECTIONS, Section
from incidents.views.incident_page import (
    UNPROCESSABLE,
    after_write,
    form_response,
    get_incident,
)


def _section(key: str) -> Section:
    if key not in SECTIONS:
        raise Http404(f"No section {key}.")
    return SECTIONS[key]


def _row(section: Section, incident: Incident, pk: int):
    owner = "priority__incident" if section.key == "options" else "incident"
    return get_object_or_404(section.model, pk=pk, **{owner: incident})


def _section_anchor(section: Section) -> str:
    return f"section-{section.partial_key}"


@require_http_methods(["GET", "POST"])
@editor_required
def section_row_form(
    request: HttpRequest, reference: str, key: str, pk: int | None = None
) -> HttpResponse:
    """Add a row to a section (no pk) or edit one."""
    section = _section(key)
    incident = get_incident(reference)
    row = _row(section, incident, pk) if pk is not None else None
    form_class = section_form_class(section)
    template = "incidents/sections/_row_form.html"
    context = {"incident": incident, "section": section, "row": row}
    if request.method == "GET":
        initial = {}
        if row is None and "occurred_at" in section.fields:
            initial["occurred_at"] = timezone.now()
        for name in ("kind", "horizon", "group", "priority", "parent"):
            if name in request.GET and name in section.fields:
                initial[name] = request.GET[name]
        form = form_class(instance=row, initial=initial, incident=incident)
        return form_response(request, template, {**context, "form": form})

    form = form_class(request.POST, instance=row, incident=incident)
    if not form.is_valid():
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    services.part_save(row=form.instance, user=request.user, fields=section.fields)
    return after_write(request, incident, section.partial, _section_anchor(section))


@require_POST
@editor_required
def section_row_delete(request: HttpRequest, reference: str, key: str, pk: int) -> HttpResponse:
    section = _section(key)
    incident = get_incident(reference)
    services.part_delete(row=_row(section, incident, pk), user=request.user)
    return after_write(request, incident, section.partial, _section_anchor(section))


@require_POST
@editor_required
def section_row_move(request: HttpRequest, reference: str, key: str, pk: int) -> HttpResponse:
    section = _section(key)
    if not section.ordered:
        raise Http404("This section is ordered by time.")
    incident = get_incident(reference)
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.part_move(row=_row(section, incident, pk), offset=offset, user=request.user)
    return after_write(request, incident, section.partial, _section_anchor(section))


@require_POST
@editor_required
def criterion_toggle(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    section = SECTIONS["criteria"]
    incident = get_incident(reference)
    services.criterion_set_done(
        criterion=_row(section, incident, pk),
        done=request.POST.get("done") == "1",
        user=request.user,
    )
    return after_write(request, incident, section.partial, _section_anchor(section))


urlpatterns = [
    path("incidents/<str:reference>/<str:key>/new", section_row_form, name="row_new"),
    path("incidents/<str:reference>/<str:key>/<int:pk>/edit", section_row_form, name="row_edit"),
    path(
        "incidents/<str:reference>/<str:key>/<int:pk>/delete",
        section_row_delete,
        name="row_delete",
    ),
    path("incidents/<str:reference>/<str:key>/<int:pk>/move", section_row_move, name="row_move"),
    path(
        "incidents/<str:reference>/criteria/<int:pk>/done",
        criterion_toggle,
        name="criterion_toggle",
    ),
]
