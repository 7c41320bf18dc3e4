"""The prose and details of the incident row, edited in place with compare-and-set: a
conflict keeps what this editor typed and shows what someone else saved beside it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required
from incidents.models import Incident
from incidents.postmortem import services
from incidents.postmortem.forms import DetailsForm, ProseForm, VersionedForm
from incidents.postmortem.sections import DETAIL_FIELDS, PROSE_FIELDS
from incidents.postmortem.views._common import (
    UNPROCESSABLE,
    _shown,
    after_write,
    form_response,
    get_incident,
)

# The details that decide which earlier incidents look like this one: its title (the text), and
# its times (the health checks that failed in them).
SIMILAR_BY = frozenset({"title", "started_at", "resolved_at"})
SIMILAR_REFRESH = "similar-refresh"


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
    response = after_write(request, incident, "incidents/prose/_summary_box.html", "summary-box")
    if request.htmx and SIMILAR_BY.intersection(changes):
        # The similar incidents panel (incidents.insights.recurrence) looks again.
        response["HX-Trigger"] = SIMILAR_REFRESH
    return response


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
            # Stored at save time, as every page shows Markdown: nothing renders it again here.
            "theirs_html": getattr(incident, f"{names[0]}_html")
            if isinstance(form, ProseForm)
            else "",
            "their_author": latest.history_user if latest else None,
            "their_time": latest.history_date if latest else None,
        },
        status=409,
    )
