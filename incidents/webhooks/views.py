"""The admins' page of webhooks: endpoints, their events, secrets, test pings and the log of
deliveries with each answer. Every write goes through incidents.webhooks.services.

A secret is shown once, in the answer to the POST that made it, never stored in the session
or in a message, and never shown again.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import permission_required
from incidents.models import WebhookDelivery, WebhookEndpoint
from incidents.models.webhooks import MANAGE_WEBHOOKS
from incidents.webhooks import selectors, services
from incidents.webhooks.forms import WebhookEndpointForm, event_choices

admin_required = permission_required(
    MANAGE_WEBHOOKS, "Only admins manage webhooks: where Hindsight's events go is their call."
)


def _secret_page(
    request: AuthenticatedHttpRequest, endpoint: WebhookEndpoint, *, new: bool
) -> HttpResponse:
    return render(request, "incidents/webhooks/secret.html", {"endpoint": endpoint, "new": new})


@require_GET
@admin_required
def webhook_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "incidents/webhooks/list.html",
        {"endpoints": selectors.endpoints_with_latest()},
    )


@require_http_methods(["GET", "POST"])
@admin_required
@keeps_typed_text
def webhook_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else form_kept(request)
    form = WebhookEndpointForm(data)
    if request.method == "POST" and form.is_valid():
        endpoint = services.webhook_endpoint_save(endpoint=form.save(commit=False))
        return _secret_page(request, endpoint, new=True)
    return render(
        request,
        "incidents/webhooks/form.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@admin_required
@keeps_typed_text
def webhook_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    data = request.POST if request.method == "POST" else form_kept(request)
    form = WebhookEndpointForm(data, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        services.webhook_endpoint_save(endpoint=form.save(commit=False))
        messages.success(request, f"“{endpoint.name}” saved.")
        return redirect("incidents:webhook_detail", endpoint.pk)
    return render(
        request,
        "incidents/webhooks/form.html",
        {"form": form, "endpoint": endpoint},
        status=422 if form.errors else 200,
    )


@require_GET
@admin_required
def webhook_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    followed = set(endpoint.events or [])
    groups = [
        (label, [text for value, text in kinds if value in followed])
        for label, kinds in event_choices()
    ]
    deliveries = selectors.endpoint_deliveries(endpoint=endpoint)[: selectors.RECENT_DELIVERIES]
    return render(
        request,
        "incidents/webhooks/detail.html",
        {
            "endpoint": endpoint,
            "groups": [(label, texts) for label, texts in groups if texts],
            "deliveries": deliveries,
            "recent": selectors.RECENT_DELIVERIES,
        },
    )


@require_POST
@admin_required
def webhook_rotate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.webhook_endpoint_secret_rotate(endpoint=endpoint)
    return _secret_page(request, endpoint, new=False)


@require_POST
@admin_required
def webhook_ping(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.webhook_endpoint_ping(endpoint=endpoint)
    messages.success(request, "Test ping queued; its answer shows below in a moment.")
    return redirect("incidents:webhook_detail", endpoint.pk)


@require_POST
@admin_required
def webhook_redeliver(request: AuthenticatedHttpRequest, pk: int, delivery: int) -> HttpResponse:
    original = get_object_or_404(WebhookDelivery, pk=delivery, endpoint_id=pk)
    try:
        services.webhook_delivery_redeliver(delivery=original)
    except services.WebhookEndpointInactive as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Delivery {original.pk} queued again, as a new delivery.")
    return redirect("incidents:webhook_detail", pk)


@require_http_methods(["GET", "POST"])
@admin_required
def webhook_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST":
        services.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"“{endpoint.name}” deleted; it gets nothing more.")
        return redirect("incidents:webhook_list")
    return render(request, "incidents/webhooks/delete.html", {"endpoint": endpoint})
