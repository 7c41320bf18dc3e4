"""An environment's deployment gate: its rules, and the answers it gave CI.

Everyone logged in reads it. Admins (who hold the gate rule permissions) add, edit, disable and
delete rules; the forms only validate, and the writes go through deployments.services so the
API and this page refuse the same rules with the same messages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.permissions import login_required, permission_required
from deployments import gate, services
from deployments.forms import GateRuleForm
from deployments.models import Environment, GateRule, GateRun

RECENT_RUNS = 30


def _environment(service: str, environment: str) -> Environment:
    return get_object_or_404(
        Environment.objects.select_related("service"), service__slug=service, name=environment
    )


def _gate_page(environment: Environment) -> str:
    return reverse(
        "deployments:environment_gate",
        kwargs={"service": environment.service.slug, "environment": environment.name},
    )


def _environment_page(environment: Environment) -> str:
    """The environment's deployments page, when that page is installed."""
    try:
        return reverse(
            "deployments:environment",
            kwargs={"service": environment.service.slug, "environment": environment.name},
        )
    except NoReverseMatch:
        return ""


def _size(size: int | None) -> str:
    return "" if size is None else f"{size:,} bytes"


def _reason_row(reason: dict[str, Any]) -> dict[str, Any]:
    """A stored reason for the template, with the links it names (blocking action items)."""
    found = reason.get("found")
    found = found if isinstance(found, dict) else {}
    items = found.get("items")
    items = items if isinstance(items, list) else []
    links = [item for item in items if isinstance(item, dict) and item.get("url")]
    return {
        "outcome": reason.get("outcome", ""),
        "message": reason.get("message", ""),
        "links": links,
    }


GATE_ADMINS_ONLY = "Only admins change the deployment gate's rules."


@require_GET
@login_required
def environment_gate(request: HttpRequest, service: str, environment: str) -> HttpResponse:
    found = _environment(service, environment)
    rules = list(GateRule.objects.filter(environment=found).order_by("order", "id"))
    installed = gate.registered_kinds()
    for rule in rules:
        rule.installed = rule.kind in installed  # type: ignore[attr-defined]  # for the template
        rule.min_label = _size(rule.min_size)  # type: ignore[attr-defined]  # for the template
        rule.max_label = _size(rule.max_size)  # type: ignore[attr-defined]  # for the template
    runs = list(
        GateRun.objects.filter(environment=found)
        .select_related("requested_by", "deployment")
        .order_by("-created_at", "-id")[:RECENT_RUNS]
    )
    for run in runs:
        run.reason_rows = [_reason_row(reason) for reason in run.reasons]  # type: ignore[attr-defined]  # for the template
    user = request.user
    return render(
        request,
        "deployments/gate.html",
        {
            "service": found.service,
            "environment": found,
            "environment_url": _environment_page(found),
            "rules": rules,
            "runs": runs,
            "recent_runs": RECENT_RUNS,
            "can_add": user.has_perm("deployments.add_gaterule"),
            "can_change": user.has_perm("deployments.change_gaterule"),
            "can_delete": user.has_perm("deployments.delete_gaterule"),
        },
    )


def _form_page(
    request: HttpRequest, environment: Environment, form: GateRuleForm, rule: GateRule | None
) -> HttpResponse:
    status = 422 if form.is_bound and form.errors else 200
    context = {
        "service": environment.service,
        "environment": environment,
        "form": form,
        "rule": rule,
        "gate_url": _gate_page(environment),
    }
    return render(request, "deployments/gate_rule_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required("deployments.add_gaterule", GATE_ADMINS_ONLY)
def gate_rule_add(request: HttpRequest, service: str, environment: str) -> HttpResponse:
    found = _environment(service, environment)
    blank = GateRule(environment=found, service=found.service)
    if request.method == "GET":
        return _form_page(request, found, GateRuleForm(instance=blank), None)
    form = GateRuleForm(request.POST, instance=blank)
    if not form.is_valid():
        return _form_page(request, found, form, None)
    data = {name: form.cleaned_data[name] for name in services.GATE_RULE_FIELDS}
    data["path"] = data["path"] or ""
    rule = services.gate_rule_create(environment=found, **data)
    messages.success(request, f"Added: {rule}.")
    return redirect(_gate_page(found))


@require_http_methods(["GET", "POST"])
@permission_required("deployments.change_gaterule", GATE_ADMINS_ONLY)
def gate_rule_edit(request: HttpRequest, service: str, environment: str, pk: int) -> HttpResponse:
    found = _environment(service, environment)
    rule = get_object_or_404(GateRule, pk=pk, environment=found)
    if request.method == "GET":
        return _form_page(request, found, GateRuleForm(instance=rule), rule)
    # The form fills the instance it validates; the service writes from a fresh copy.
    form = GateRuleForm(request.POST, instance=GateRule.objects.get(pk=rule.pk))
    if not form.is_valid():
        return _form_page(request, found, form, rule)
    changes = {name: form.cleaned_data[name] for name in form.changed_data}
    if "path" in changes:
        changes["path"] = changes["path"] or ""
    services.gate_rule_update(rule=rule, **changes)
    messages.success(request, f"Saved: {rule}.")
    return redirect(_gate_page(found))


@require_POST
@permission_required("deployments.change_gaterule", GATE_ADMINS_ONLY)
def gate_rule_toggle(request: HttpRequest, service: str, environment: str, pk: int) -> HttpResponse:
    found = _environment(service, environment)
    rule = get_object_or_404(GateRule, pk=pk, environment=found)
    services.gate_rule_update(rule=rule, enabled=not rule.enabled)
    messages.success(request, f"{'Enabled' if rule.enabled else 'Disabled'}: {rule}.")
    return redirect(_gate_page(found))


@require_http_methods(["GET", "POST"])
@permission_required("deployments.delete_gaterule", GATE_ADMINS_ONLY)
def gate_rule_delete(request: HttpRequest, service: str, environment: str, pk: int) -> HttpResponse:
    found = _environment(service, environment)
    rule = get_object_or_404(GateRule, pk=pk, environment=found)
    if request.method == "GET":
        context = {
            "service": found.service,
            "environment": found,
            "rule": rule,
            "gate_url": _gate_page(found),
        }
        return render(request, "deployments/gate_rule_delete.html", context)
    label = str(rule)
    services.gate_rule_delete(rule=rule)
    messages.success(request, f"Deleted: {label}.")
    return redirect(_gate_page(found))


_BASE = "<slug:service>/<str:environment>/gate/"
urlpatterns = [
    path(_BASE, environment_gate, name="environment_gate"),
    path(f"{_BASE}rules/new", gate_rule_add, name="gate_rule_add"),
    path(f"{_BASE}rules/<int:pk>/edit", gate_rule_edit, name="gate_rule_edit"),
    path(f"{_BASE}rules/<int:pk>/toggle", gate_rule_toggle, name="gate_rule_toggle"),
    path(f"{_BASE}rules/<int:pk>/delete", gate_rule_delete, name="gate_rule_delete"),
]
