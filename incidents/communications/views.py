"""Communications on the incident page (generate, edit with preview, approve, send, correct) and
the communication template pages.

Editors and admins run the workflow and edit the templates: whoever may send a message to users
may shape its template, and what keeps a template safe is the sandbox and its check at save
(incidents.communications.sandbox), not the role. Viewers read both. Responses follow the
incident page's rules: htmx gets the Communications section to swap in, a plain form POST a
redirect to it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required, login_required, permission_required
from incidents.communications import selectors, services
from incidents.communications.defaults import USER_EMAIL_SLUG
from incidents.communications.forms import (
    CommunicationForm,
    CommunicationTemplateForm,
    GenerateForm,
)
from incidents.communications.placeholders import PLACEHOLDERS
from incidents.models import (
    Audience,
    Communication,
    CommunicationComponent,
    CommunicationTemplate,
    Component,
    Incident,
)
from incidents.postmortem.views import UNPROCESSABLE, form_response, get_incident
from incidents.statuspage.page import public_preview

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

SECTION = "incidents/sections/communications.html"
VISIBILITY = "incidents/prose/_visibility.html"
ANCHOR = "section-communications"
TEMPLATE_PERMISSION = "incidents.change_communicationtemplate"


def can_edit_templates(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm(TEMPLATE_PERMISSION)


template_editor_required = permission_required(
    TEMPLATE_PERMISSION, "Your role may not change communication templates."
)


# --- The section --------------------------------------------------------------------------------


def _with_communications(incident: Incident) -> Incident:
    return (
        # public_by and duplicate_of for the visibility box that comes with the section.
        Incident.objects.select_related("service", "public_by", "duplicate_of")
        .prefetch_related(
            Prefetch("communications", queryset=selectors.communications_with_progress())
        )
        .get(pk=incident.pk)
    )


def _section_and_visibility(
    request: AuthenticatedHttpRequest, incident: Incident, *, error: str
) -> HttpResponse:
    """The section, and the incident's visibility box swapped in beside it (out of band):
    publishing or withdrawing a status page update can put the incident on the status page or
    take it off, and the box must not go on saying otherwise."""
    incident = _with_communications(incident)
    section = render_to_string(SECTION, {"incident": incident, "error": error}, request)
    box = render_to_string(
        VISIBILITY,
        {"incident": incident, "public_view": public_preview(incident), "oob": True},
        request,
    )
    return HttpResponse(section + box)


def _done(
    request: AuthenticatedHttpRequest, incident: Incident, *, anchor: str = ANCHOR, error: str = ""
) -> HttpResponse:
    if request.htmx:
        response = _section_and_visibility(request, incident, error=error)
        return reswap(retarget(response, f"#{ANCHOR}"), "outerHTML")
    if error:
        messages.error(request, error)
    return redirect(f"{reverse('incidents:detail', args=[incident.reference])}#{anchor}")


def _communication(incident: Incident, pk: int) -> Communication:
    return get_object_or_404(
        Communication.objects.select_related("incident__service"), pk=pk, incident=incident
    )


@require_GET
@login_required
def section(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The section alone for htmx (a Cancel button); on a page of its own otherwise."""
    incident = _with_communications(get_incident(reference))
    return form_response(request, SECTION, {"incident": incident})


@require_http_methods(["GET", "POST"])
@editor_required
def generate(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """GET: pick a template. POST: a draft from it (the section's one-click button posts the
    user email's template)."""
    incident = get_incident(reference)
    context = {"incident": incident}
    template = "incidents/communication_generate.html"
    if request.method == "GET":
        form = GenerateForm(initial={"template": USER_EMAIL_SLUG})
        return form_response(request, template, {**context, "form": form})
    form = GenerateForm(request.POST)
    if not form.is_valid():
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    try:
        draft = services.communication_generate(
            incident=incident, template=form.cleaned_data["template"], user=request.user
        )
    except ValidationError as error:
        return _done(request, incident, error=" ".join(error.messages))
    return _done(request, incident, anchor=f"communication-{draft.pk}")


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def edit(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = get_incident(reference)
    communication = _communication(incident, pk)
    if communication.status == Communication.Status.SENT:
        return _done(
            request, incident, error="A sent communication cannot change; write a correction."
        )
    template = "incidents/communication_form.html"
    context = {"incident": incident, "communication": communication}
    # A status page update names the components it affects; other audiences have none.
    components = (
        list(Component.objects.select_related("group").order_by("group__order", "order", "pk"))
        if communication.audience == Audience.STATUS_PAGE
        else []
    )

    def bound(data: Any) -> CommunicationForm:
        return CommunicationForm(data, components=components)

    kept = form_kept(request) if request.method == "GET" else None
    if kept is not None:
        return form_response(request, template, {**context, "form": bound(kept)})
    if request.method == "GET":
        named = dict(
            CommunicationComponent.objects.filter(communication=communication).values_list(
                "component_id", "status"
            )
        )
        form = CommunicationForm(
            initial={
                "subject": communication.subject,
                "body": communication.body,
                "expected": communication.updated_at,
                **{f"component_{pk}": status for pk, status in named.items()},
            },
            components=components,
        )
        return form_response(request, template, {**context, "form": form})
    form = bound(request.POST)
    if not form.is_valid():
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    try:
        services.communication_update(
            communication=communication,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            user=request.user,
            expected_updated_at=form.cleaned_data["expected"],
            component_statuses=form.component_statuses() if components else None,
        )
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    except services.StaleCommunication as error:
        # Keep what this editor typed; the next save goes on top of the newer text on purpose.
        data = request.POST.copy()
        data["expected"] = communication.updated_at.isoformat()
        stale = bound(data)
        stale.is_valid()
        return form_response(
            request, template, {**context, "form": stale, "stale": str(error)}, 409
        )
    except services.CommunicationStateError as error:
        return _done(request, incident, error=str(error))
    return _done(request, incident, anchor=f"communication-{communication.pk}")


def _transition(step: Callable[..., object]) -> Callable[..., HttpResponse]:
    """A POST that moves one communication along; a refused step is shown, not raised."""

    @wraps(step)
    @require_POST
    @editor_required
    def view(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
        incident = get_incident(reference)
        communication = _communication(incident, pk)
        try:
            moved = step(communication=communication, user=request.user)
        except services.CommunicationStateError as error:
            return _done(request, incident, error=str(error))
        target = moved if isinstance(moved, Communication) else communication
        return _done(request, incident, anchor=f"communication-{target.pk}")

    return view


approve = _transition(services.communication_approve)
send = _transition(services.communication_send)
correct = _transition(services.communication_correct)
discard = _transition(services.communication_discard)


@require_POST
@editor_required
def retract(request: AuthenticatedHttpRequest, reference: str, pk: int) -> HttpResponse:
    """Withdraw a published status page update, saying why."""
    incident = get_incident(reference)
    communication = _communication(incident, pk)
    try:
        services.communication_retract(
            communication=communication,
            user=request.user,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        return _done(request, incident, error=" ".join(error.messages))
    except services.CommunicationStateError as error:
        return _done(request, incident, error=str(error))
    return _done(request, incident, anchor=f"communication-{communication.pk}")


# --- Templates ----------------------------------------------------------------------------------


@require_GET
@login_required
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "incidents/communication_templates.html",
        {
            "templates": CommunicationTemplate.objects.order_by("audience", "name"),
            "can_edit_templates": can_edit_templates(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@template_editor_required
def template_edit(request: AuthenticatedHttpRequest, slug: str | None = None) -> HttpResponse:
    template = get_object_or_404(CommunicationTemplate, slug=slug) if slug else None
    form = CommunicationTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        services.communication_template_save(template=form.instance)
        messages.success(request, f"Saved the template “{form.instance.name}”.")
        return redirect("incidents:communication_templates")
    return render(
        request,
        "incidents/communication_template_form.html",
        {"form": form, "template_row": template, "placeholders": PLACEHOLDERS},
        status=UNPROCESSABLE if request.method == "POST" else 200,
    )
