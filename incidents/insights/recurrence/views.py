"""The similar past incidents panel of the incident page, loaded after the page (htmx), so the
page itself costs nothing more; without JavaScript its link opens it as a page."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from incidents.insights.recurrence.selectors import similar_incidents
from incidents.postmortem.views import get_incident

PANEL = "incidents/insights/_similar.html"


@require_GET
@login_required
def similar_panel(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    context = {"incident": incident, "similar": similar_incidents(incident), "loaded": True}
    if request.htmx:
        return render(request, PANEL, context)
    return render(request, "incidents/insights/similar_page.html", context)
