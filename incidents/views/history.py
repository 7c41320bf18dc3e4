from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from incidents.history import incident_history
from incidents.models import Incident


@require_GET
@login_required
def history(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        incident = Incident.objects.select_related("service").by_reference(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return render(
        request,
        "incidents/history.html",
        {"incident": incident, "changes": incident_history(incident)},
    )


urlpatterns = [
    path("incidents/<str:reference>/history/", history, name="history"),
]
