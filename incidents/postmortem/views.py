"""The incident page is the post-mortem document, and it is edited in place.

Every write answers an htmx request with the fragment to swap in (the section, or the form with
its errors) and a plain form POST with a redirect or the full form page, so the page works with
the keyboard and without JavaScript. Also here: declaring an incident, the rows of the sections
(added, edited, moved and deleted in place, one table in sections.py driving them all) and the
history page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from core.http import AuthenticatedHttpRequest, HtmxHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required, login_required
from core.rendering import render as render_markdown
from incidents.action_items.forms import ActionItemStatusForm
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Horizon,
    Incident,
    Lesson,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel, Ordered, Versioned
from incidents.postmortem import selectors, services
from incidents.postmortem.forms import (
    DetailsForm,
    DuplicateForm,
    IncidentDeclareForm,
    ProseForm,
    ResolveForm,
    SectionRowForm,
    StatusForm,
    VersionedForm,
    section_form_class,
    sign_base,
)
from incidents.postmortem.sections import DETAIL_FIELDS, PROSE_FIELDS, SECTIONS, Section
from incidents.postmortem.selectors import incident_history
from incidents.statuspage.page import public_preview
from incidents.system.selectors import timeline_rows

UNPROCESSABLE = 422


def get_incident(reference: str) -> Incident:
    try:
        return Incident.objects.select_related("service").by_reference(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None


@require_GET
@login_required
def incident_detail(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    try:
        incident = selectors.incident_document(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return render(request, "incidents/incident_detail.html", document_context(incident))


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


# Fragments a Cancel button swaps back in: the part of the page as it is now.
FRAGMENTS = {
    "summary-box": ("incidents/prose/_summary_box.html", {}),
    **{f"prose-{f}": ("incidents/prose/_field.html", {"field": f}) for f in PROSE_FIELDS},
    **{f"section-{s.partial_key}": (s.partial, {}) for s in SECTIONS.values()},
}


@require_GET
@login_required
def fragment(request: AuthenticatedHttpRequest, reference: str, name: str) -> HttpResponse:
    if name not in FRAGMENTS:
        raise Http404(f"No part {name}.")
    template, extra = FRAGMENTS[name]
    return _render_fragment(request, get_incident(reference), template, **extra)


# --- Prose and details of the incident row, with compare-and-set --------------------------------


def _save_versioned(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: VersionedForm,
    changes: dict[str, Any],
) -> list[str]:
    """Save through the service's conflict policy. Returns the fields someone else changed
    meanwhile that this editor changed too (nothing saved then; the form shows both), else []."""
    try:
        services.incident_update(
            incident=incident,
            expected_version=form.cleaned_data["version"],
            user=request.user,
            base=form.cleaned_data["base"],
            **changes,
        )
    except services.StaleVersion as stale:
        incident.refresh_from_db()
        return stale.fields or list(changes)
    return []


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


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def prose_edit(request: AuthenticatedHttpRequest, reference: str, field: str) -> HttpResponse:
    if field not in PROSE_FIELDS:
        raise Http404(f"No text field {field}.")
    incident = get_incident(reference)
    template = "incidents/prose/_form.html"
    context = {"incident": incident, "field": field}
    kept = form_kept(request) if request.method == "GET" else None
    if kept is not None:
        form = ProseForm(kept, field_name=field)
        return form_response(request, template, {**context, "form": form})
    if request.method == "GET":
        form = ProseForm(
            field_name=field,
            initial={
                "value": getattr(incident, field),
                "version": incident.version,
                "base": ProseForm.sign_base(services.comparable_values(incident, [field])),
            },
        )
        return form_response(request, template, {**context, "form": form})

    form = ProseForm(request.POST, field_name=field)
    if not form.is_valid():
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    try:
        clashing = _save_versioned(request, incident, form, {field: form.cleaned_data["value"]})
    except ValidationError as error:
        form.add_error("value", error.message_dict.get(field) or error.messages)
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    if clashing:
        return _conflict(request, incident, form, [field], [field], template, context)
    return after_write(
        request, incident, "incidents/prose/_field.html", f"prose-{field}", field=field
    )


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def details_edit(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    template = "incidents/prose/_details_form.html"
    context = {"incident": incident}
    kept = form_kept(request) if request.method == "GET" else None
    if kept is not None:
        return form_response(request, template, {**context, "form": DetailsForm(kept)})
    if request.method == "GET":
        form = DetailsForm(
            initial={
                **{name: getattr(incident, name) for name in DETAIL_FIELDS},
                "version": incident.version,
                "base": DetailsForm.sign_base(services.comparable_values(incident, DETAIL_FIELDS)),
            }
        )
        return form_response(request, template, {**context, "form": form})

    form = DetailsForm(request.POST)
    if not form.is_valid():
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    # Only what this editor changed is a change: a field they left alone keeps whatever someone
    # else saved meanwhile.
    base = form.cleaned_data["base"]
    changes = {
        name: form.cleaned_data[name]
        for name in DETAIL_FIELDS
        if services.comparable(form.cleaned_data[name]) != base.get(name)
    }
    try:
        clashing = _save_versioned(request, incident, form, changes)
    except ValidationError as error:
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    if clashing:
        return _conflict(
            request, incident, form, list(DETAIL_FIELDS), clashing, template, context, changes
        )
    return after_write(request, incident, "incidents/prose/_summary_box.html", "summary-box")


def _conflict(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: VersionedForm,
    names: list[str],
    clashing: list[str],
    template: str,
    context: dict[str, Any],
    changes: dict[str, Any] | None = None,
) -> HttpResponse:
    """Someone else changed what this editor changed too. Keep what this editor typed in the
    fields they changed, take everyone else's values in the rest, show theirs beside the
    clashing ones, and let the next save go on top of theirs on purpose."""
    latest = incident.history.select_related("history_user").first()
    assert isinstance(form.data, QueryDict)  # bound to request.POST
    data = form.data.copy()
    for name in names:
        if changes is not None and name not in changes:
            field = form.fields[name]
            data[name] = field.widget.format_value(field.prepare_value(getattr(incident, name)))
    data["version"] = str(incident.version)
    data["base"] = form.sign_base(services.comparable_values(incident, names))
    merged: VersionedForm
    if isinstance(form, ProseForm):
        merged = ProseForm(data, field_name=form.field_name)
    else:
        merged = DetailsForm(data)
    merged.is_valid()
    labels = {name: (form.fields.get(name) or form.fields["value"]).label for name in clashing}
    theirs = [(labels[name], _shown(incident, name)) for name in clashing]
    return form_response(
        request,
        template,
        {
            **context,
            "form": merged,
            "conflict": True,
            "theirs": theirs,
            "their_text": getattr(incident, names[0]) if isinstance(form, ProseForm) else "",
            "theirs_html": render_markdown(getattr(incident, names[0]))
            if isinstance(form, ProseForm)
            else "",
            "their_author": latest.history_user if latest else None,
            "their_time": latest.history_date if latest else None,
        },
        status=409,
    )


# --- Transitions ---------------------------------------------------------------------------------


def _transition_page(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: StatusForm | ResolveForm,
    status: int = 200,
) -> HttpResponse:
    return form_response(
        request,
        "incidents/prose/_transition_form.html",
        {"incident": incident, "form": form, "resolving": isinstance(form, ResolveForm)},
        status,
    )


def _apply_transition(
    request: AuthenticatedHttpRequest,
    incident: Incident,
    form: StatusForm | ResolveForm,
    **change: Any,
) -> HttpResponse:
    try:
        services.incident_set_status(incident=incident, user=request.user, **change)
    except ValidationError as error:
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return _transition_page(request, incident, form, UNPROCESSABLE)
    except services.StaleVersion:
        messages.error(request, "Others kept changing the status meanwhile; look and try again.")
    return redirect("incidents:detail", incident.reference)


@require_POST
@editor_required
def set_status(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    form = StatusForm(request.POST, incident=incident)
    if not form.is_valid():
        return _transition_page(request, incident, form, UNPROCESSABLE)
    return _apply_transition(
        request, incident, form, status=form.cleaned_data["status"], at=form.cleaned_data["at"]
    )


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def resolve(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Resolving asks for the end, prefilled with the one already written down, else now."""
    incident = get_incident(reference)
    kept = form_kept(request) if request.method == "GET" else None
    if kept is not None:
        return _transition_page(request, incident, ResolveForm(kept, incident=incident))
    if request.method == "GET":
        return _transition_page(request, incident, ResolveForm(incident=incident))
    form = ResolveForm(request.POST, incident=incident)
    if not form.is_valid():
        return _transition_page(request, incident, form, UNPROCESSABLE)
    return _apply_transition(
        request,
        incident,
        form,
        status=Incident.Status.RESOLVED,
        at=form.cleaned_data["resolved_at"],
    )


@require_POST
@editor_required
def set_postmortem_state(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    state = request.POST.get("state", "")
    if state not in Incident.PostmortemState.values:
        messages.error(request, "Choose one of the listed post-mortem states.")
    else:
        try:
            services.incident_set_postmortem_state(
                incident=incident, state=state, user=request.user
            )
        except services.StaleVersion:
            messages.error(request, "Others kept changing the state meanwhile; look and try again.")
    return redirect("incidents:detail", incident.reference)


@require_POST
@editor_required
def mark_duplicate(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Close the incident as a duplicate of the one named; the page then says so and links it."""
    incident = get_incident(reference)
    form = DuplicateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect("incidents:detail", incident.reference)
    try:
        services.incident_mark_duplicate(
            incident=incident, original=form.cleaned_data["of"], user=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except services.StaleVersion:
        messages.error(request, "Others kept changing the incident meanwhile; look and try again.")
    else:
        assert incident.duplicate_of is not None  # the service set it
        messages.success(
            request,
            f"{incident.reference} is now a duplicate of {incident.duplicate_of.reference}.",
        )
    return redirect("incidents:detail", incident.reference)


@require_POST
@editor_required
def unmark_duplicate(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Undo a duplicate: the incident counts again, as it was before."""
    incident = get_incident(reference)
    try:
        services.incident_unmark_duplicate(incident=incident, user=request.user)
    except services.StaleVersion:
        messages.error(request, "Others kept changing the incident meanwhile; look and try again.")
    else:
        messages.success(request, f"{incident.reference} is no longer a duplicate.")
    return redirect("incidents:detail", incident.reference)


# --- Markdown preview ----------------------------------------------------------------------------


def _stays_put_when_logged_out(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """The preview asks by itself while someone types. When their session has run out it must
    not send the page to the login, which would take the text they are typing with it: it
    says so where the preview goes, and their save keeps the text (core.kept_forms)."""

    @functools.wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            return HttpResponse(
                '<p class="error">Your session has expired, so there is no preview. Save when '
                "you are done: what you typed is kept while you log in again.</p>"
            )
        return view(request, *args, **kwargs)

    return wrapper


@require_POST
@_stays_put_when_logged_out
@editor_required
def markdown_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The one renderer, round-tripped: what a field will look like once saved.

    htmx posts the whole form; ?field= names the box to preview.
    """
    text = request.POST.get(request.GET.get("field", ""), "")
    if len(text) > settings.HINDSIGHT_MARKDOWN_MAX_LENGTH:
        return HttpResponse('<p class="error">Too long to preview.</p>', status=UNPROCESSABLE)
    return HttpResponse(render_markdown(text) or '<p class="empty">Nothing to preview yet.</p>')


def _section(key: str) -> Section:
    if key not in SECTIONS:
        raise Http404(f"No section {key}.")
    return SECTIONS[key]


def _row(section: Section, incident: Incident, pk: int) -> MarkdownModel:
    owner = "priority__incident" if section.key == "options" else "incident"
    return get_object_or_404(section.model, pk=pk, **{owner: incident})


def _section_anchor(section: Section) -> str:
    return f"section-{section.partial_key}"


def _refuse_audit_line(row: MarkdownModel) -> None:
    """The page offers no Edit or Delete on a line Hindsight wrote; a request that asks anyway
    is forged."""
    if isinstance(row, TimelineEvent) and row.is_audit:
        raise PermissionDenied(str(services.AuditLineLocked()))


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def section_row_form(
    request: AuthenticatedHttpRequest, reference: str, key: str, pk: int | None = None
) -> HttpResponse:
    """Add a row to a section (no pk) or edit one."""
    section = _section(key)
    incident = get_incident(reference)
    row = _row(section, incident, pk) if pk is not None else None
    if row is not None:
        _refuse_audit_line(row)
    form_class = section_form_class(section)
    template = "incidents/sections/_row_form.html"
    context = {"incident": incident, "section": section, "row": row}
    kept = form_kept(request) if request.method == "GET" else None
    if kept is not None:
        form = form_class(kept, instance=row, incident=incident)
        return form_response(request, template, {**context, "form": form})
    if request.method == "GET":
        initial: dict[str, Any] = {}
        if row is None and "occurred_at" in section.fields:
            initial["occurred_at"] = timezone.now()
        for name in ("kind", "horizon", "group", "priority", "parent"):
            if name in request.GET and name in section.fields:
                initial[name] = request.GET[name]
        if row is not None:
            assert isinstance(row, Versioned)  # every section's model is
            initial["version"] = row.version
            initial["base"] = sign_base(services.comparable_values(row, section.fields))
        form = form_class(instance=row, initial=initial, incident=incident)
        return form_response(request, template, {**context, "form": form})

    form = form_class(request.POST, instance=row, incident=incident)
    if not form.is_valid():
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    if row is None:
        services.part_save(row=form.instance, user=request.user)
        return after_write(request, incident, section.partial, _section_anchor(section))

    version = form.cleaned_data.get("version")
    base = form.cleaned_data["base"]
    if version is None:
        # A form opened before rows had versions: nothing says what it started from, so what
        # it would change is shown beside the row as it is, and saving again saves it.
        # Read again: validating the form wrote what was posted onto `row`.
        base = services.comparable_values(_row(section, incident, row.pk), section.fields)
    # Only what this editor changed is a change: a field they left alone keeps whatever
    # someone else saved meanwhile.
    edited = form.edited_fields(section.fields, base)
    if not edited:
        return after_write(request, incident, section.partial, _section_anchor(section))
    if version is None:
        return _row_conflict(
            request, context, form, clashing=edited, edited=edited, unversioned=True
        )
    try:
        services.part_save(
            row=form.instance,
            user=request.user,
            fields=edited,
            expected_version=version,
            base=base,
        )
    except services.StaleRow as stale:
        if stale.current_version is None:
            raise Http404("This row was deleted meanwhile.") from None
        return _row_conflict(request, context, form, clashing=stale.fields, edited=edited)
    except services.AuditLineLocked as locked:
        raise PermissionDenied(str(locked)) from None
    except ValidationError as error:
        # Someone else's change and this one are fine apart but not together (e.g. two
        # options of a priority now share a label).
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return form_response(request, template, {**context, "form": form}, UNPROCESSABLE)
    return after_write(request, incident, section.partial, _section_anchor(section))


def _row_conflict(
    request: AuthenticatedHttpRequest,
    context: dict[str, Any],
    form: SectionRowForm,
    *,
    clashing: list[str],
    edited: list[str],
    unversioned: bool = False,
) -> HttpResponse:
    """Someone else saved this row while this editor had it open, and changed what this editor
    changed too. Keep what this editor typed in the fields they changed, take the row as it is
    now in the rest, show the saved values beside the clashing ones, and let the next save go
    on top of them on purpose: it carries the version and the values shown here."""
    section: Section = context["section"]
    current = _row(section, context["incident"], form.instance.pk)
    assert isinstance(current, Versioned)  # every section's model is
    assert isinstance(form.data, QueryDict)  # bound to request.POST
    # Read before the merged form, whose validation writes the form's values onto `current`.
    markdown = set(getattr(section.model, "markdown_fields", ()))
    theirs = [
        {
            "label": form.fields[name].label,
            "value": getattr(current, name) if name in markdown else _shown(current, name),
            "html": getattr(current, f"{name}_html") if name in markdown else "",
        }
        for name in clashing
    ]
    data = form.data.copy()
    for name in section.fields:
        if name not in edited:
            data.setlist(name, form.as_posted(name, getattr(current, name)))
    data["version"] = str(current.version)
    data["base"] = sign_base(services.comparable_values(current, section.fields))
    merged = type(form)(data, instance=current, incident=context["incident"])
    merged.is_valid()
    latest = current.history.select_related("history_user").first()  # type: ignore[attr-defined]  # added by simple-history, which ships no types
    return form_response(
        request,
        "incidents/sections/_row_form.html",
        {
            **context,
            "row": current,
            "form": merged,
            "conflict": True,
            "unversioned": unversioned,
            "theirs": theirs,
            "their_author": latest.history_user if latest else None,
            "their_time": latest.history_date if latest else None,
        },
        status=409,
    )


@require_POST
@editor_required
def section_row_delete(
    request: AuthenticatedHttpRequest, reference: str, key: str, pk: int
) -> HttpResponse:
    section = _section(key)
    incident = get_incident(reference)
    row = _row(section, incident, pk)
    _refuse_audit_line(row)
    try:
        # The version the page showed: a row a colleague changed since is not deleted unseen.
        # A form without one (a page opened before rows had versions) deletes as it did.
        version = int(request.POST["version"]) if request.POST.get("version") else None
    except ValueError:
        version = None
    try:
        services.part_delete(row=row, user=request.user, expected_version=version)
    except services.StaleRow:
        refused = (
            f"This {section.noun} changed since you opened the page, so it was not deleted. "
            "Read it again, then delete it if you still mean to."
        )
        if not request.htmx:
            messages.error(request, refused)
        return after_write(
            request,
            incident,
            section.partial,
            _section_anchor(section),
            delete_refused=(key, row.pk, refused),
        )
    return after_write(request, incident, section.partial, _section_anchor(section))


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
def section_row_move(
    request: AuthenticatedHttpRequest, reference: str, key: str, pk: int
) -> HttpResponse:
    section = _section(key)
    if not section.ordered:
        raise Http404("This section is ordered by time.")
    incident = get_incident(reference)
    offset = -1 if request.POST.get("direction") == "up" else 1
    row = _row(section, incident, pk)
    assert isinstance(row, Ordered)  # section.ordered said so
    services.part_move(row=row, offset=offset, user=request.user)
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


@require_GET
@login_required
def history(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    try:
        incident = Incident.objects.select_related("service").by_reference(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    return render(
        request,
        "incidents/history.html",
        {"incident": incident, "changes": incident_history(incident)},
    )


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def incident_declare(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else form_kept(request)
    form = IncidentDeclareForm(data)
    if form.is_valid() and request.method == "POST":
        made = selectors.incident_declared_already(
            user=request.user, **form.cleaned_data, now=timezone.now()
        )
        if made is not None:
            messages.info(request, f"{made.reference} was declared with this form already.")
            return redirect("incidents:detail", made.reference)
        try:
            incident = services.incident_create(**form.cleaned_data, created_by=request.user)
        except IntegrityError:
            # The same form, submitted twice at once: the other submit declared it.
            made = Incident.objects.get(creation_key=form.cleaned_data["creation_key"])
            return redirect("incidents:detail", made.reference)
        except ValidationError as error:
            # The model's own rules, checked again by the service; shown like the form's.
            by_field = (
                error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            )
            for field, field_errors in by_field.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, f"{incident.reference} declared.")
            return redirect("incidents:detail", incident.reference)
    status = 422 if form.errors else 200
    return render(request, "incidents/incident_declare.html", {"form": form}, status=status)
