from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from incidents import selectors


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    open_incidents = selectors.incident_list().exclude(status="resolved")
    return render(request, "incidents/dashboard.html", {"open_incidents": open_incidents})


urlpatterns = [
    path("", dashboard, name="dashboard"),
]
