"""The rows of the sections: added, edited, moved and deleted in place, one table in
sections.py driving them all. An edit that crosses someone else's keeps both, as the prose does."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required
from incidents.models import Incident, TimelineEvent
from incidents.models.base import MarkdownModel, Ordered, Versioned
from incidents.postmortem import services
from incidents.postmortem.forms import SectionRowForm, section_form_class, sign_base
from incidents.postmortem.sections import SECTIONS, Section
from incidents.postmortem.views._common import (
    UNPROCESSABLE,
    _section_anchor,
    _shown,
    after_write,
    form_response,
    get_incident,
)


def _section(key: str) -> Section:
    if key not in SECTIONS:
        raise Http404(f"No section {key}.")
    return SECTIONS[key]


def _row(section: Section, incident: Incident, pk: int) -> MarkdownModel:
    owner = "priority__incident" if section.key == "options" else "incident"
    return get_object_or_404(section.model, pk=pk, **{owner: incident})


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
