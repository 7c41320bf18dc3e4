"""The action items page: every item of every incident, filtered, ticked and assigned in place.

The controls of a row post with htmx and get that row back; without JavaScript they are plain
forms that post and come back to the page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import can_edit, editor_required, login_required
from incidents.action_items import selectors
from incidents.action_items.forms import (
    STATUS_FILTERS,
    ActionItemAssignForm,
    ActionItemFilterForm,
    assignable_owners,
)
from incidents.models import ActionItem
from incidents.postmortem import services

PER_PAGE = 50
ROW_TEMPLATE = "incidents/partials/_action_item_row.html"


def _back_url(request: AuthenticatedHttpRequest) -> str:
    """The page a row's form was posted from (its `next`), if it is ours; else the plain page."""
    url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("incidents:action_items")


def _row_context(request: AuthenticatedHttpRequest, *, next_url: str) -> dict[str, Any]:
    """What every row needs besides its item, read once per response rather than per row."""
    return {
        "owners": list(assignable_owners()) if can_edit(request.user) else [],
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
    page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filter_form": filter_form,
        "page": page,
        **_row_context(request, next_url=request.get_full_path()),
    }
    return render(request, "incidents/action_items.html", context)


def _row(
    request: AuthenticatedHttpRequest,
    pk: int,
    *,
    assign_form: ActionItemAssignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """One row of the table as it is now, for htmx to swap in place of the old one."""
    item = get_object_or_404(
        selectors.action_item_list(today=timezone.localdate(), statuses=None), pk=pk
    )
    context = {
        "item": item,
        "assign_form": assign_form,
        **_row_context(request, next_url=_back_url(request)),
    }
    return render(request, ROW_TEMPLATE, context, status=status)


def _done_or_back(
    request: AuthenticatedHttpRequest, item: ActionItem, message: str
) -> HttpResponse:
    if request.htmx:
        return _row(request, item.pk)
    messages.success(request, message)
    return redirect(_back_url(request))


@editor_required
@require_POST
def action_item_done(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ActionItem, pk=pk)
    services.action_item_complete(item=item, user=request.user)
    return _done_or_back(request, item, f"Done: {item.title}")


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
    for name, errors in form.errors.items():
        where = f"{form[name].label}: " if name in form.fields else ""
        messages.error(request, f"{item.title}: {where}{' '.join(map(str, errors))}")
    return redirect(_back_url(request))
