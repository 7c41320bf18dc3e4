"""What shipped where: the services overview and each environment's deployments.

Read-only, for everyone logged in. Both pages cost a fixed number of queries however many
services, environments and deployments there are; an environment's deployments are paginated.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_GET

from core.permissions import login_required
from core.plugins import deployment_links
from deployments import selectors
from deployments.models import Deployment, Environment, GateRun

PAGE_SIZE = 25
NEWEST_FIRST = ("-started_at", "-id")


def gate_url(environment: Environment) -> str:
    """The environment's gate page, when the gate's pages are installed; else no link."""
    try:
        return reverse(
            "deployments:environment_gate",
            kwargs={"service": environment.service.slug, "environment": environment.name},
        )
    except NoReverseMatch:
        return ""


@require_GET
@login_required
def services_overview(request: HttpRequest) -> HttpResponse:
    services = selectors.services_health_now()
    latest = Deployment.objects.filter(environment=OuterRef("pk")).order_by(*NEWEST_FIRST)
    environments = list(
        Environment.objects.annotate(latest_id=Subquery(latest.values("pk")[:1])).order_by(
            "service_id", "name"
        )
    )
    deployments = Deployment.objects.in_bulk([e.latest_id for e in environments if e.latest_id])
    by_service: dict[int, list[Environment]] = {}
    for environment in environments:
        environment.latest = deployments.get(environment.latest_id)  # type: ignore[attr-defined]  # for the template
        by_service.setdefault(environment.service_id, []).append(environment)
    for service in services:
        service.environment_rows = by_service.get(service.pk, [])  # type: ignore[attr-defined]  # for the template
    return render(request, "deployments/services.html", {"services": services})


def _gate_verdicts(deployment_ids: list[int]) -> dict[int, GateRun]:
    """The latest gate answer that led to each deployment, in one query."""
    verdicts: dict[int, GateRun] = {}
    runs = GateRun.objects.filter(deployment_id__in=deployment_ids).only(
        "id", "deployment_id", "verdict", "created_at"
    )
    for run in runs.order_by("deployment_id", "-created_at", "-id"):
        if run.deployment_id is not None:  # always, by the filter
            verdicts.setdefault(run.deployment_id, run)
    return verdicts


def environment_context(environment: Environment, page_number: Any) -> dict[str, Any]:
    good = selectors.last_known_good(environment=environment)
    deployments = (
        Deployment.objects.filter(environment=environment)
        .select_related("rollback_of")
        .order_by(*NEWEST_FIRST)
    )
    page = Paginator(deployments, PAGE_SIZE).get_page(page_number)
    rows = list(page.object_list)
    ids = [d.pk for d in rows]
    verdicts, links = _gate_verdicts(ids), deployment_links(ids)
    for deployment in rows:
        deployment.gate_run = verdicts.get(deployment.pk)  # type: ignore[attr-defined]  # for the template
        deployment.incident_links = links.get(deployment.pk, [])  # type: ignore[attr-defined]  # for the template
    return {
        "environment": environment,
        "service": environment.service,
        "last_known_good": good,
        "rollback": selectors.rollback_command(deployment=good) if good else None,
        "good_minutes": settings.HINDSIGHT_LAST_KNOWN_GOOD_MINUTES,
        "page": page,
        "deployments": rows,
        "gate_url": gate_url(environment),
    }


@require_GET
@login_required
def environment_page(request: HttpRequest, service: str, environment: str) -> HttpResponse:
    found = get_object_or_404(
        Environment.objects.select_related("service"), service__slug=service, name=environment
    )
    context = environment_context(found, request.GET.get("page"))
    return render(request, "deployments/environment.html", context)


urlpatterns = [
    path("", services_overview, name="services"),
    path("<slug:service>/<str:environment>/", environment_page, name="environment"),
]
