"""What every part of the incident page shares: finding the incident, arranging the
document's rows into its sections, and answering a write (the fragment for htmx, a redirect
or the full form page otherwise)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from itertools import groupby
from typing import Any

from django.db import models
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import reswap, retarget

from core.http import AuthenticatedHttpRequest
from incidents.drafting.selectors import proposals_waiting
from incidents.models import ActionItem, Cause, FinalNote, Horizon, Incident, Lesson, StatusItem
from incidents.postmortem import selectors
from incidents.postmortem.forms import DuplicateForm, StatusForm
from incidents.postmortem.sections import Section
from incidents.statuspage.page import public_preview
from incidents.system.selectors import timeline_rows

UNPROCESSABLE = 422


def get_incident(reference: str) -> Incident:
    try:
        return Incident.objects.select_related("service").by_reference(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None


def document_context(incident: Incident) -> dict[str, Any]:
    """Arrange the prefetched rows into the post-mortem's sections, in Python, no more queries."""
    causes = list(incident.causes.all())
    children: dict[int, list[Cause]] = {}
    for cause in causes:
        if cause.parent_id:
            children.setdefault(cause.parent_id, []).append(cause)
    top_causes = [c for c in causes if c.parent_id is None]
    for cause in top_causes:
        cause.details = children.get(cause.pk, [])  # type: ignore[attr-defined]  # for the template

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
        item.steps = sub_items.get(item.pk, [])  # type: ignore[attr-defined]  # for the template

    def by_kind(
        rows: Iterable[Any], kinds: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str, list[Any]]]:
        return [(value, label, [r for r in rows if r.kind == value]) for value, label in kinds]

    criteria = list(incident.success_criteria.all())
    return {
        "incident": incident,
        # A duplicate's items still count (work is not done by closing a record): its page says
        # how many are open, so someone closes them or moves the work to the original.
        "open_item_count": sum(item.is_open for item in items),
        "duplicate_form": DuplicateForm(),
        # Read only where the timeline is drawn: other fragments never pay for its two queries.
        "timeline_rows": functools.cache(functools.partial(timeline_rows, incident)),
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
        "status_form": StatusForm(
            incident=incident,
            initial={
                "status": incident.status
                if incident.status != Incident.Status.RESOLVED
                else Incident.Status.MONITORING
            },
        ),
        "postmortem_choices": Incident.PostmortemState.choices,
        # What the status page shows of it, or would once it is public.
        "public_view": public_preview(incident),
        # What "Start the post-mortem" proposed and nobody kept or discarded yet.
        "proposals": proposals_waiting(incident),
    }


def _render_fragment(
    request: AuthenticatedHttpRequest, incident: Incident, template: str, **extra: Any
) -> HttpResponse:
    """One part of the page, re-read whole so it shows what everyone else saved too."""
    document = selectors.incident_document(incident.number)
    return render(request, template, {**document_context(document), **extra})


def after_write(
    request: AuthenticatedHttpRequest, incident: Incident, template: str, anchor: str, **extra: Any
) -> HttpResponse:
    if request.htmx:
        response = _render_fragment(request, incident, template, **extra)
        # The form was swapped into a corner of the section; the answer replaces all of it.
        return reswap(retarget(response, f"#{anchor}"), "outerHTML")
    return redirect(f"{reverse('incidents:detail', args=[incident.reference])}#{anchor}")


def form_response(
    request: AuthenticatedHttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The form alone for htmx; inside a full page otherwise."""
    if not request.htmx:
        context = {**context, "form_template": template}
        template = "incidents/form_page.html"
    return render(request, template, context, status=status)


def _shown(obj: models.Model, name: str) -> str:
    """A field's value as the page shows it: labels for choices, times with their zone, people
    by username and other rows by their title."""
    value = getattr(obj, name)
    if value is None or value == "":
        return "—"
    display = getattr(obj, f"get_{name}_display", None)
    if display is not None:
        return str(display())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}"
    return str(value)


def _section_anchor(section: Section) -> str:
    return f"section-{section.partial_key}"
