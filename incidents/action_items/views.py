"""The action items page: every item of every incident, filtered, ticked and assigned in place.

The controls of a row post with htmx and get that row back; without JavaScript they are plain
forms that post and come back to the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthenticatedHttpRequest
from core.lists import LeanList
from core.permissions import editor_required, login_required
from incidents.action_items import selectors
from incidents.action_items.forms import (
    STATUS_FILTERS,
    ActionItemAssignForm,
    ActionItemCloseForm,
    ActionItemFilterForm,
)
from incidents.models import ActionItem
from incidents.postmortem import services

PER_PAGE = 50
ROW_TEMPLATE = "incidents/partials/_action_item_row.html"
OPEN_STEPS_ROW_TEMPLATE = "incidents/partials/_open_steps_row.html"
OPEN_STEPS_TEMPLATE = "incidents/partials/_open_steps.html"
ALONE_TEMPLATE = "incidents/partials/_action_item_alone.html"


def _back_url(request: AuthenticatedHttpRequest) -> str:
    """The page a row's form was posted from (its `next`), if it is ours; else the plain page."""
    url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("incidents:action_items")


def _row_context(request: AuthenticatedHttpRequest, *, next_url: str) -> dict[str, Any]:
    """What every row needs besides its item, read once per response rather than per row. Not
    the people an item could be given to: the owner box asks for them as someone types."""
    return {
        "priorities": ActionItem.Priority.choices,
        "next_url": next_url,
    }


@require_GET
@login_required
def action_item_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    filter_form = ActionItemFilterForm(request.GET)
    filters = filter_form.valid_filters()
    today = timezone.localdate()
    items = selectors.action_item_list(
        today=today,
        owner=request.user if filters["mine"] else None,
        overdue=filters["overdue"],
        due_between=(today, today + timedelta(days=6)) if filters["due_this_week"] else None,
        horizon=filters["horizon"],
        incident_number=filters["incident"],
        blocking=filters["blocking"],
        statuses=STATUS_FILTERS[filters["status"]],
    )
    # Overdue first is worked out per request, so no index holds the order: the page's ids are
    # sorted out of the items alone, then only those rows joined.
    rows = LeanList(items, count=items, keys=items)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filter_form": filter_form,
        "page": page,
        **_row_context(request, next_url=request.get_full_path()),
    }
    return render(request, "incidents/action_items.html", context)


def _rows(pks: Sequence[int]) -> dict[int, ActionItem]:
    """These items as the table shows them, by id, in one query."""
    items = selectors.action_item_list(today=timezone.localdate(), statuses=None)
    return {row.pk: row for row in items.filter(pk__in=pks)}


def _row(
    request: AuthenticatedHttpRequest,
    pk: int,
    *,
    assign_form: ActionItemAssignForm | None = None,
    row_errors: list[str] | None = None,
    status: int = 200,
    also: Sequence[int] = (),
) -> HttpResponse:
    """One row of the table as it is now, for htmx to swap in place of the old one; with
    `also`, those rows too (steps closed with it), swapped out of band wherever they are shown."""
    rows = _rows([pk, *also])
    if pk not in rows:
        raise Http404("No action item has this id.")
    context = {
        "assign_form": assign_form,
        "row_errors": row_errors or [],
        **_row_context(request, next_url=_back_url(request)),
    }
    response = render(request, ROW_TEMPLATE, {**context, "item": rows.pop(pk)}, status=status)
    for other in rows.values():
        response.content += render_to_string(
            ROW_TEMPLATE, {**context, "item": other, "oob": True}, request=request
        ).encode()
    return response


def _done_or_back(
    request: AuthenticatedHttpRequest, item: ActionItem, message: str, also: Sequence[int] = ()
) -> HttpResponse:
    if request.htmx:
        return _row(request, item.pk, also=also)
    messages.success(request, message)
    return redirect(_back_url(request))


def _closing(
    request: AuthenticatedHttpRequest,
    item: ActionItem,
    *,
    to: str,
    message: str,
) -> HttpResponse:
    """Close `item` as `to` (done or won't do) with what the control posted. Open steps are not
    left behind: the person is asked, naming them, whether to close them too (409, nothing
    written); a refused reason comes back beside the row (422)."""
    form = ActionItemCloseForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        # The steps it may close with it, read first: their rows change too.
        steps = selectors.action_item_step_ids(item) if form.cleaned_data["close_children"] else []
        if to == ActionItem.Status.DONE:
            services.action_item_complete(item=item, user=request.user, **form.cleaned_data)
        else:
            services.action_item_drop(item=item, user=request.user, **form.cleaned_data)
    except services.OpenSteps as refused:
        return _open_steps(request, item, refused.steps, to=to, reason=form.data.get("reason", ""))
    except ValidationError as error:
        if request.htmx:
            return _row(request, item.pk, row_errors=error.messages, status=422)
        for text in error.messages:
            messages.error(request, f"{item.title}: {text}")
        return redirect(_back_url(request))
    return _done_or_back(request, item, message, also=steps)


def _open_steps(
    request: AuthenticatedHttpRequest,
    item: ActionItem,
    steps: list[ActionItem],
    *,
    to: str,
    reason: str,
) -> HttpResponse:
    """The question to ask before closing an item over its open steps: close them as done, as
    won't do, or keep them (and the item) open."""
    back = _back_url(request)
    url_name = (
        "incidents:action_item_done"
        if to == ActionItem.Status.DONE
        else "incidents:action_item_wont_do"
    )
    context = {
        "item": item,
        "incident": item.incident,
        "steps": steps,
        "to": to,
        "reason": reason,
        "action_url": reverse(url_name, args=[item.pk]),
        "next_url": back,
        "cancel_url": back,
        "in_row": bool(request.htmx),
        "columns": 9,
    }
    if request.htmx:
        return render(request, OPEN_STEPS_ROW_TEMPLATE, context, status=409)
    context["form_template"] = OPEN_STEPS_TEMPLATE
    return render(request, "incidents/form_page.html", context, status=409)


@editor_required
@require_POST
def action_item_done(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=pk)
    return _closing(request, item, to=ActionItem.Status.DONE, message=f"Done: {item.title}")


@editor_required
@require_POST
def action_item_wont_do(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=pk)
    return _closing(request, item, to=ActionItem.Status.WONT_DO, message=f"Won't do: {item.title}")


@editor_required
@require_POST
def action_item_start(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=pk)
    services.action_item_start(item=item, user=request.user)
    return _done_or_back(request, item, f"Started: {item.title}")


@editor_required
@require_POST
def action_item_undone(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=pk)
    services.action_item_reopen(item=item, user=request.user)
    return _done_or_back(request, item, f"Reopened: {item.title}")


@editor_required
@require_POST
def action_item_assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=pk)
    form = ActionItemAssignForm(request.POST)
    if form.is_valid():
        try:
            services.action_item_assign(item=item, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            # The model's own rules; the service wrote nothing.
            form.add_error(None, error)
    if not form.errors:
        return _done_or_back(request, item, f"Saved: {item.title}")
    if request.htmx:
        # 422 rather than 200, so nothing mistakes a refused edit for a saved one. htmx swaps
        # 422 like a success because of the htmx-config meta in base.html.
        return _row(request, pk, assign_form=form, status=422)
    # Without JavaScript: the row alone, its error beside the field and what was typed kept
    # (an owner's username, a date), so the person corrects it rather than types it again.
    context = {
        "item": _rows([pk])[pk],
        "incident": item.incident,
        "assign_form": form,
        "form_template": ALONE_TEMPLATE,
        **_row_context(request, next_url=_back_url(request)),
    }
    return render(request, "incidents/form_page.html", context, status=422)
