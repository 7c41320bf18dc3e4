"""The maintenance pages, behind the login: the windows not ended and the latest that have, and
creating, editing and deleting them (editors)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required, login_required
from incidents.models import Maintenance
from incidents.statuspage import services
from incidents.statuspage.forms import MaintenanceForm

PAST_SHOWN = 20
FORM_TEMPLATE = "incidents/maintenance_form.html"


@require_GET
@login_required
def maintenance_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    windows = Maintenance.objects.select_related("service")
    return render(
        request,
        "incidents/maintenance_list.html",
        {
            # maintenance_ends_idx serves both: not ended yet, and the latest that have (or were
            # called off).
            "current": windows.filter(ends_at__gt=now, cancelled_at__isnull=True).order_by(
                "starts_at", "pk"
            ),
            "past": windows.filter(Q(ends_at__lte=now) | Q(cancelled_at__isnull=False)).order_by(
                "-ends_at", "-pk"
            )[:PAST_SHOWN],
            "now": now,
        },
    )


def _save(form: MaintenanceForm) -> Maintenance | None:
    """The service's own checks come back as field errors, like the form's."""
    try:
        if form.instance.pk is None:
            return services.maintenance_create(**form.cleaned_data)
        return services.maintenance_update(maintenance=form.instance, **form.cleaned_data)
    except ValidationError as error:
        by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, field_errors in by_field.items():
            form.add_error(name if name in form.fields else None, field_errors)
    return None


def _form_page(request: HttpRequest, form: MaintenanceForm) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        maintenance = _save(form)
        if maintenance is not None:
            messages.success(request, f"Saved: {maintenance.title}")
            return redirect("incidents:maintenance_list")
    status = 422 if form.errors else 200
    return render(request, FORM_TEMPLATE, {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def maintenance_create(request: HttpRequest) -> HttpResponse:
    kept = form_kept(request) if request.method == "GET" else None
    if request.method == "POST" or kept is not None:
        form = MaintenanceForm(request.POST if request.method == "POST" else kept)
    else:
        start = (timezone.localtime() + timedelta(days=1)).replace(
            minute=0, second=0, microsecond=0
        )
        form = MaintenanceForm(initial={"starts_at": start, "ends_at": start + timedelta(hours=1)})
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def maintenance_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # A window called off is kept for the record of its notices, not edited again.
    maintenance = get_object_or_404(Maintenance, pk=pk, cancelled_at__isnull=True)
    data = request.POST if request.method == "POST" else form_kept(request)
    form = MaintenanceForm(data, instance=maintenance)
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
@editor_required
def maintenance_delete(request: HttpRequest, pk: int) -> HttpResponse:
    # A window called off is kept for the record of its notices, not edited again.
    maintenance = get_object_or_404(Maintenance, pk=pk, cancelled_at__isnull=True)
    if request.method == "POST":
        services.maintenance_delete(maintenance=maintenance)
        said = "Cancelled" if maintenance.cancelled_at else "Deleted"
        messages.success(request, f"{said}: {maintenance.title}")
        return redirect("incidents:maintenance_list")
    return render(request, "incidents/maintenance_delete.html", {"maintenance": maintenance})
