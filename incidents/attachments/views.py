"""Uploading a file into an incident (editors) and fetching one (anyone logged in)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthenticatedHttpRequest
from core.permissions import editor_required, login_required
from incidents.attachments import services
from incidents.attachments.forms import AttachmentForm
from incidents.models import Attachment
from incidents.postmortem.services import AuditLineLocked
from incidents.postmortem.views._common import get_incident

TOO_LARGE = 413
UNPROCESSABLE = 422
# Room for the multipart envelope around a file exactly at the limit.
ENVELOPE_BYTES = 64 * 1024
MARKUP_TYPES = ("text/html", "image/svg+xml", "application/xml")


def _refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message, "field": "file"}, status=status)


@require_POST
@editor_required
def attachment_upload(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Answers JSON: the Markdown to insert where the file was pasted or dropped, or the error
    to show beside the field."""
    incident = get_incident(reference)
    # Refused before the body is read: a huge upload costs neither the disk nor the time.
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > services.max_bytes() + ENVELOPE_BYTES:
        return _refused(services.too_large_message(), TOO_LARGE)
    form = AttachmentForm(request.POST, request.FILES, incident=incident)
    if not form.is_valid():
        status = TOO_LARGE if form.too_large() else UNPROCESSABLE
        first = next(iter(form.errors.values()))
        return _refused(" ".join(str(message) for message in first), status)
    event = form.cleaned_data["event"]
    try:
        attachment = services.attachment_upload(
            incident=incident,
            upload=form.cleaned_data["file"],
            user=request.user,
            timeline_event=event,
        )
    except AuditLineLocked:
        return _refused(
            "Hindsight wrote this line itself, so it cannot take a file; drop it into a text "
            "or onto an event someone wrote.",
            UNPROCESSABLE,
        )
    except services.ValidationError as error:
        return _refused(" ".join(error.messages), UNPROCESSABLE)
    answer = {
        "id": attachment.pk,
        "name": attachment.name,
        "url": attachment.path,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "inline": attachment.inline,
        "markdown": services.attachment_markdown(attachment),
    }
    if event is not None:
        # The event's text changed: the page swaps its timeline in again from here.
        answer["refresh"] = reverse(
            "incidents:fragment", args=[incident.reference, "section-timeline"]
        )
    return JsonResponse(answer, status=201)


@require_GET
@login_required
def attachment_file(request: AuthenticatedHttpRequest, pk: int, name: str) -> FileResponse:
    attachment = Attachment.objects.filter(pk=pk, name=name).first()
    if attachment is None:
        raise Http404("No such attachment.")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this attachment is missing from the storage.") from None
    # Only a raster image checked by its bytes is shown in the page; everything else, SVG and
    # HTML included, is a download the browser never renders in this site's origin.
    response = FileResponse(
        handle,
        # Markup goes out as plain bytes too, in case a browser ignored the disposition.
        content_type="application/octet-stream"
        if attachment.content_type in MARKUP_TYPES
        else attachment.content_type,
        as_attachment=not attachment.inline,
        filename=attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
