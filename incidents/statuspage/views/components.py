"""The components pages, behind the login: their status (set by an editor, or the checks'
proposal accepted), and creating, editing and deleting components and their groups (editors).

Components and groups are edited the same way, on the same two templates: what differs (the
model, the form, the service that saves or deletes one, the templates' word for it) is a _Kind,
and each page is written once for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required, login_required
from incidents.models import Component, ComponentGroup, ComponentStatus
from incidents.statuspage import services
from incidents.statuspage.forms import ComponentForm, ComponentGroupForm


@require_GET
@login_required
def component_list(request: HttpRequest) -> HttpResponse:
    components = list(
        Component.objects.select_related("group", "status_changed_by").order_by(
            "group__order", "order", "pk"
        )
    )
    proposals = services.component_status_proposals(component_ids=[c.pk for c in components])
    rows = [(c, proposals.get(c.pk)) for c in components]
    return render(
        request,
        "incidents/component_list.html",
        {
            "rows": rows,
            "statuses": ComponentStatus.choices,
            # Empty ones too: a group is made before its components are put in it.
            "groups": ComponentGroup.objects.order_by("order", "name"),
        },
    )


@require_POST
@editor_required
def component_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Set a status (an override) or accept the checks' proposal, over the status the editor saw."""
    component = get_object_or_404(Component, pk=pk)
    expected = request.POST.get("expected", "")
    try:
        if "accept" in request.POST:
            services.component_proposal_accept(
                component=component,
                proposed=request.POST.get("accept", ""),
                expected=expected,
                user=request.user,
            )
        else:
            services.component_set_status(
                component=component,
                status=request.POST.get("status", ""),
                expected=expected,
                user=request.user,
            )
    except (services.ComponentStatusConflict, ValidationError) as error:
        messages.error(request, str(error.messages[0] if hasattr(error, "messages") else error))
    else:
        messages.success(request, f"{component.name}: {component.get_status_display()}.")
    return redirect("incidents:component_list")


# --- Components and groups: creating, editing, deleting (editors) ----------------------------

COMPONENT_FORM_TEMPLATE = "incidents/component_form.html"

Row = TypeVar("Row", Component, ComponentGroup)
Form = TypeVar("Form", ComponentForm, ComponentGroupForm)


def _errors_beside_fields(form: forms.ModelForm, error: ValidationError) -> None:
    by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, field_errors in by_field.items():
        form.add_error(name if name in form.fields else None, field_errors)


def _component_save(form: ComponentForm) -> Component | None:
    fields = dict(form.cleaned_data)
    checks = fields.pop("health_checks")
    existing = form.instance if form.instance.pk is not None else None
    try:
        return services.component_save(component=existing, health_checks=checks, **fields)
    except ValidationError as error:
        _errors_beside_fields(form, error)
    return None


def _group_save(form: ComponentGroupForm) -> ComponentGroup | None:
    existing = form.instance if form.instance.pk is not None else None
    try:
        return services.component_group_save(group=existing, **form.cleaned_data)
    except ValidationError as error:
        _errors_beside_fields(form, error)
    return None


@dataclass(frozen=True)
class _Kind(Generic[Row, Form]):
    """What the editing pages of a component and of a group differ in."""

    name: str  # the templates' word for it
    model: type[Row]
    form: type[Form]
    # Looked up in services when called, not when this is made, so a test can replace them.
    save: Callable[[Form], Row | None]
    delete: Callable[[Row], None]


_COMPONENT: _Kind[Component, ComponentForm] = _Kind(
    name="component",
    model=Component,
    form=ComponentForm,
    save=_component_save,
    delete=lambda component: services.component_delete(component=component),
)
_GROUP: _Kind[ComponentGroup, ComponentGroupForm] = _Kind(
    name="group",
    model=ComponentGroup,
    form=ComponentGroupForm,
    save=_group_save,
    delete=lambda group: services.component_group_delete(group=group),
)


def _bound(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else form_kept(request)


def _form_page(request: HttpRequest, kind: _Kind[Row, Form], pk: int | None = None) -> HttpResponse:
    """The page that creates one (no pk) or edits the one numbered pk."""
    row = get_object_or_404(kind.model, pk=pk) if pk is not None else None
    form = kind.form(_bound(request), instance=row)
    if request.method == "POST" and form.is_valid():
        saved = kind.save(form)
        if saved is not None:
            messages.success(request, f"Saved: {saved.name}")
            return redirect("incidents:component_list")
    status = 422 if form.errors else 200
    return render(
        request, COMPONENT_FORM_TEMPLATE, {"form": form, "kind": kind.name}, status=status
    )


def _delete_page(request: HttpRequest, kind: _Kind[Row, Form], pk: int) -> HttpResponse:
    row = get_object_or_404(kind.model, pk=pk)
    if request.method == "POST":
        kind.delete(row)
        messages.success(request, f"Deleted: {row.name}")
        return redirect("incidents:component_list")
    return render(request, "incidents/component_delete.html", {"row": row, "kind": kind.name})


# One view per URL, as before: the decorators are the permission and method checks.


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, _COMPONENT)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _COMPONENT, pk)


@require_http_methods(["GET", "POST"])
@editor_required
def component_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _delete_page(request, _COMPONENT, pk)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_group_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, _GROUP)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _GROUP, pk)


@require_http_methods(["GET", "POST"])
@editor_required
def component_group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _delete_page(request, _GROUP, pk)
