from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from incidents.models import ActionItem


@require_GET
@login_required
def action_item_list(request: HttpRequest) -> HttpResponse:
    items = ActionItem.objects.select_related("incident", "owner").order_by("due_date", "id")
    return render(request, "incidents/action_items.html", {"items": items})


urlpatterns = [
    path("action-items/", action_item_list, name="action_items"),
]
