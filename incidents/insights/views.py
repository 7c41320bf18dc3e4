"""The dashboard (what needs attention now) and the incident list; each list in a fixed number of
queries whatever its length.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from deployments import selectors as deployment_selectors
from incidents.action_items import selectors as action_items_selectors
from incidents.insights import search, selectors
from incidents.insights.filters import IncidentFilter

LIST_PAGE_SIZE = 25
# The dashboard shows the first of a person's open items and links to the rest.
MY_ITEMS_SHOWN = 10
OPEN_INCIDENTS_SHOWN = 25


@require_GET
@login_required
def incident_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    queryset = selectors.incident_list()
    filters = IncidentFilter(request.GET, queryset=queryset)
    # A filter that does not validate shows its error and no rows: rows filtered by the other
    # fields alone would look like an answer to the question the person asked.
    incidents = filters.qs if filters.is_valid() else queryset.none()
    if not search.is_searched(incidents):
        page = Paginator(incidents, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
        more_than = None
    else:
        # Counted only as far as the page asked for (or SEARCH_COUNT_LIMIT) reaches.
        results = search.search_results(incidents, count=incidents)
        asked = request.GET.get("page", "")
        number = int(asked) if asked.isdigit() and int(asked) > 0 else 1
        results.reach_to(number * LIST_PAGE_SIZE)
        page = Paginator(results, LIST_PAGE_SIZE).get_page(number)
        more_than = None if results.count_exact else results.reach
        search.snippets_attach(page.object_list, request.GET.get("q", ""))
    return render(
        request,
        "incidents/incident_list.html",
        {
            "page": page,
            "more_than": more_than,
            "filters": filters,
            "filter_params": filters.active_params,
        },
    )


@require_GET
@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    # A backlog of hundreds is counted by the database, and only the rows shown are read.
    my_items = action_items_selectors.action_items_open_for(
        user=request.user, today=timezone.localdate()
    )
    # The other lists too: five years of forgotten blocking items must not make the page grow.
    open_incidents = selectors.incidents_open()
    blocking = action_items_selectors.action_items_blocking_deployments()
    in_review = selectors.postmortems_in_review()
    return render(
        request,
        "incidents/dashboard.html",
        {
            "open_incidents": open_incidents[:OPEN_INCIDENTS_SHOWN],
            "open_incidents_count": open_incidents.count(),
            "open_incidents_shown": OPEN_INCIDENTS_SHOWN,
            "my_items": my_items[:MY_ITEMS_SHOWN],
            "my_items_count": my_items.count(),
            "my_items_shown": MY_ITEMS_SHOWN,
            "blocking_items": blocking[:MY_ITEMS_SHOWN],
            "blocking_count": blocking.count(),
            "in_review": in_review[:MY_ITEMS_SHOWN],
            "in_review_count": in_review.count(),
            "services": deployment_selectors.services_health_now(),
        },
    )
