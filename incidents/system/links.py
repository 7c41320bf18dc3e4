"""The incidents a deployment is tied to, for the system side's pages (a provider of
core.plugins.deployment_links).

Two ties: a cause of the incident names the deployment, or the deployment started while the
incident was going on (from its start to its resolution, or now, for the same service). Two
queries for any number of deployments.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F, Q
from django.urls import reverse

from core.plugins import Link
from incidents.models import Cause, Incident
from incidents.models.incident import REFERENCE_PREFIX


def incident_links(deployment_ids: list[int]) -> dict[int, list[Link]]:
    causes = (
        # A duplicate is left out, as everywhere: its original stands for it.
        Cause.objects.filter(
            deployment_id__in=deployment_ids,
            incident__duplicate_of__isnull=True,
            # A proposal nobody kept names no cause yet; the deployment still links as
            # "deployed during it" when it was.
            proposed=False,
        )
        .values_list("deployment_id", "incident__number", "incident__title", "title")
        .order_by("incident__number", "id")
    )
    # One filter() call, so both conditions apply to the same joined deployment.
    deployment = "service__environments__deployments"
    during = (
        Incident.objects.counted()
        .filter(
            Q(**{f"{deployment}__in": deployment_ids})
            & Q(started_at__lte=F(f"{deployment}__started_at"))
            & (Q(resolved_at__gte=F(f"{deployment}__started_at")) | Q(resolved_at__isnull=True))
        )
        .values_list(deployment, "number", "title")
        .order_by("number")
    )
    links: dict[int, list[Link]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for deployment_id, number, title, cause in causes:
        if (deployment_id, number) not in seen:
            seen.add((deployment_id, number))
            links[deployment_id].append(_link(number, f"{title} (cause: {cause})"))
    for deployment_id, number, title in during:
        if (deployment_id, number) not in seen:
            seen.add((deployment_id, number))
            links[deployment_id].append(_link(number, f"{title} (deployed during it)"))
    return links


def _link(number: int, title: str) -> Link:
    reference = f"{REFERENCE_PREFIX}{number}"
    return Link(label=reference, url=reverse("incidents:detail", args=[reference]), title=title)
