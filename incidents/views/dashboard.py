"""The dashboard: what needs attention now, each list in one query whatever its length."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from deployments import selectors as deployment_selectors
from incidents import selectors


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "incidents/dashboard.html",
        {
            "open_incidents": selectors.incidents_open(),
            "my_items": selectors.action_items_open_for(
                user=request.user, today=timezone.localdate()
            ),
            "blocking_items": selectors.action_items_blocking_deployments(),
            "in_review": selectors.postmortems_in_review(),
            "services": deployment_selectors.service_health(),
        },
    )


urlpatterns = [
    path("", dashboard, name="dashboard"),
]
