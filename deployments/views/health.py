"""The health checks page: each service's checks with their latest answer, and "Run now".

Everyone logged in reads it. Running a check is for holders of deployments.change_healthcheck
(admins): the button is shown to them only, and anyone else's POST is refused with 403. With
htmx the button swaps its row for the fresh one; without JavaScript it is a plain form that
comes back to the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, re_path
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from deployments import selectors
from deployments.models import HealthCheck
from deployments.services.probes import health_check_run

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

RUN_PERMISSION = "deployments.change_healthcheck"
ROW_TEMPLATE = "deployments/health_check_row.html"


def can_run(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm(RUN_PERMISSION)


@require_GET
@login_required
def health_checks(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "deployments/health_checks.html",
        {"services": selectors.health_check_board(), "can_run": can_run(request.user)},
    )


@require_POST
@login_required
def health_check_run_now(request: AuthenticatedHttpRequest, pk: str) -> HttpResponse:
    if not can_run(request.user):
        raise PermissionDenied("Only admins may run health checks.")
    check = get_object_or_404(HealthCheck.objects.select_related("service", "environment"), pk=pk)
    result = health_check_run(health_check=check)
    if request.htmx:
        check.latest = result  # type: ignore[attr-defined]  # for the template
        return render(request, ROW_TEMPLATE, {"check": check, "can_run": True})
    if result.ok:
        messages.success(request, f"{check.service.name} / {check.name}: passed.")
    else:
        messages.warning(request, f"{check.service.name} / {check.name}: {result.error}")
    return redirect("deployments:health_checks")


urlpatterns = [
    path("health/", health_checks, name="health_checks"),
    # At most 18 digits: a longer id is a 404 at the URL, not an integer overflow in the query.
    re_path(
        r"^health/checks/(?P<pk>[0-9]{1,18})/run/$",
        health_check_run_now,
        name="health_check_run",
    ),
]
