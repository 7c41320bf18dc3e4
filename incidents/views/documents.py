from __future__ import annotations

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from incidents import selectors
from incidents.models import ActionItem, Cause, FinalNote, Horizon, Incident, Lesson, StatusItem


@require_GET
@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.incident_list(), 25).get_page(request.GET.get("page"))
    return render(request, "incidents/incident_list.html", {"page": page})


@require_GET
@login_required
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        incident = selectors.incident_document(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return render(request, "incidents/incident_detail.html", _document_context(incident))


def _document_context(incident: Incident) -> dict:
    """Arrange the prefetched rows into the post-mortem's sections, in Python, no more queries."""
    causes = list(incident.causes.all())
    children: dict[int, list[Cause]] = {}
    for cause in causes:
        if cause.parent_id:
            children.setdefault(cause.parent_id, []).append(cause)
    top_causes = [c for c in causes if c.parent_id is None]

    items = list(incident.action_items.all())
    sub_items: dict[int, list[ActionItem]] = {}
    for item in items:
        if item.parent_id:
            sub_items.setdefault(item.parent_id, []).append(item)
    horizon_rank = {value: rank for rank, value in enumerate(Horizon.values)}
    top_items = sorted(
        (i for i in items if i.parent_id is None), key=lambda i: (horizon_rank[i.horizon], i.order)
    )
    for item in top_items:
        item.steps = sub_items.get(item.pk, [])
    for cause in top_causes:
        cause.details = children.get(cause.pk, [])

    def by_kind(rows, kinds):
        return [(label, [r for r in rows if r.kind == value]) for value, label in kinds]

    criteria = list(incident.success_criteria.all())
    return {
        "incident": incident,
        "status_sections": by_kind(incident.status_items.all(), StatusItem.Kind.choices),
        "cause_sections": by_kind(top_causes, Cause.Kind.choices),
        "lesson_sections": by_kind(incident.lessons.all(), Lesson.Kind.choices),
        "action_groups": [
            (Horizon(h).label, list(group))
            for h, group in groupby(top_items, key=lambda i: i.horizon)
        ],
        "criteria_groups": [
            (label, [c for c in criteria if c.group == value])
            for value, label in Horizon.choices
            if any(c.group == value for c in criteria)
        ],
        "final_sections": by_kind(incident.final_notes.all(), FinalNote.Kind.choices),
    }


urlpatterns = [
    path("incidents/", incident_list, name="list"),
    path("incidents/<str:reference>/", incident_detail, name="detail"),
]
