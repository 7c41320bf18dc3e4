"""The incident's labels and external references, edited in place in its summary."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required
from incidents.postmortem import services
from incidents.postmortem.forms import TagsForm
from incidents.postmortem.views._common import (
    UNPROCESSABLE,
    after_write,
    form_response,
    get_incident,
)

TEMPLATE = "incidents/prose/_tags_form.html"


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def tags_edit(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    if request.method == "GET":
        # What the editor typed before their session ran out, if they were sent to log in.
        kept = form_kept(request)
        form = (
            TagsForm(kept) if kept is not None else TagsForm(initial=TagsForm.initial_for(incident))
        )
        return form_response(request, TEMPLATE, {"incident": incident, "form": form})
    form = TagsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                services.incident_labels_set(
                    incident=incident,
                    labels=data["labels"],
                    base=data["base_labels"],
                    user=request.user,
                )
                services.incident_references_set(
                    incident=incident,
                    references=[services.Reference(*ref) for ref in data["references"]],
                    base=data["base_references"],
                    user=request.user,
                )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                form.add_error("references" if name == "external_references" else name, messages)
        except services.ReferenceTaken as taken:
            form.add_error("references", str(taken))
        else:
            return after_write(
                request, incident, "incidents/prose/_summary_box.html", "summary-box"
            )
    return form_response(request, TEMPLATE, {"incident": incident, "form": form}, UNPROCESSABLE)
