"""One-click changes to a row, with no form to fill: hiding a timeline line, ticking a
success criterion, and an action item's status (start, done, won't do, reopen)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required
from incidents.action_items.forms import ActionItemStatusForm
from incidents.models import ActionItem, SuccessCriterion, TimelineEvent
from incidents.postmortem import services
from incidents.postmortem.sections import SECTIONS
from incidents.postmortem.views._common import (
    UNPROCESSABLE,
    _render_fragment,
    _section_anchor,
    after_write,
    get_incident,
)


@require_POST
@editor_required
def timeline_event_hide(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
    """Leave a line out of the published post-mortem, or put it back (hidden=0)."""
    section = SECTIONS["timeline"]
    incident = get_incident(reference)
    services.timeline_event_set_hidden(
        event=get_object_or_404(TimelineEvent, pk=pk, incident=incident),
        hidden=request.POST.get("hidden") != "0",
        user=request.user,
    )
    return after_write(request, incident, section.partial, _section_anchor(section))


@require_POST
@editor_required
def criterion_toggle(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
    section = SECTIONS["criteria"]
    incident = get_incident(reference)
    services.criterion_set_done(
        criterion=get_object_or_404(SuccessCriterion, pk=pk, incident=incident),
        done=request.POST.get("done") == "1",
        user=request.user,
    )
    return after_write(request, incident, section.partial, _section_anchor(section))


@require_POST
@editor_required
def action_item_status(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
    """Start, tick, drop (won't do, with its reason) or reopen an item in place.

    Closing an item over open steps asks first, naming them (409, nothing written); a refused
    reason is said beside the item (422).
    """
    section = SECTIONS["actions"]
    incident = get_incident(reference)
    item = get_object_or_404(ActionItem, pk=pk, incident=incident)
    form = ActionItemStatusForm(request.POST)
    anchor = _section_anchor(section)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        to = form.cleaned_data["to"]
        closing = {name: form.cleaned_data[name] for name in ("reason", "close_children")}
        if to == ActionItem.Status.DONE:
            services.action_item_complete(item=item, user=request.user, **closing)
        elif to == ActionItem.Status.WONT_DO:
            services.action_item_drop(item=item, user=request.user, **closing)
        elif to == ActionItem.Status.IN_PROGRESS:
            services.action_item_start(item=item, user=request.user)
        else:
            services.action_item_reopen(item=item, user=request.user)
    except services.OpenSteps as refused:
        url = reverse("incidents:action_item_status", args=[incident.reference, item.pk])
        back = f"{reverse('incidents:detail', args=[incident.reference])}#row-actions-{item.pk}"
        confirm = {
            "item": item,
            "incident": incident,
            "steps": refused.steps,
            "to": form.cleaned_data["to"],
            "reason": form.data.get("reason", ""),
            "action_url": url,
            "next_url": "",
            "cancel_url": back,
            "in_row": False,
        }
        if request.htmx:
            response = _render_fragment(request, incident, section.partial, confirm=confirm)
            response.status_code = 409
            return reswap(retarget(response, f"#{anchor}"), "outerHTML")
        context = {**confirm, "form_template": "incidents/partials/_open_steps.html"}
        return render(request, "incidents/form_page.html", context, status=409)
    except ValidationError as error:
        if request.htmx:
            errors = [(item.pk, text) for text in error.messages]
            response = _render_fragment(request, incident, section.partial, row_errors=errors)
            response.status_code = UNPROCESSABLE
            return reswap(retarget(response, f"#{anchor}"), "outerHTML")
        for text in error.messages:
            messages.error(request, f"{item.title}: {text}")
        return redirect(f"{reverse('incidents:detail', args=[incident.reference])}#{anchor}")
    return after_write(request, incident, section.partial, anchor)
