"""Attachments over the API: tooling (a CI job, a chat bot) attaches a log or a graph.

GET  /incidents/{ref}/attachments   the incident's files (metadata; fetch each at its url)
POST /incidents/{ref}/attachments   multipart/form-data with one `file` (and an `event` id)
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import request_user
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from incidents.attachments import services
from incidents.attachments.selectors import attachment_json
from incidents.models import Attachment, TimelineEvent
from incidents.postmortem.api.views.common import PROBLEM_REF, REF, incident_or_404, problems
from incidents.postmortem.services import AuditLineLocked

# Room for the multipart envelope around a file exactly at the limit.
ENVELOPE_BYTES = 64 * 1024


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField(help_text="Read from the file's bytes.")
    size = serializers.IntegerField(help_text="In bytes.")
    sha256 = serializers.CharField()
    url = serializers.CharField(help_text="Where to fetch it (logged in); texts link here.")
    file = serializers.CharField(help_text="Where it lies in the export with files (the zip).")
    timeline_event = serializers.IntegerField(allow_null=True)
    uploaded_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    markdown = serializers.CharField(
        help_text="What to put in a text to show it: an image for PNG, JPEG, GIF and WebP, "
        "a link otherwise."
    )


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    event = serializers.IntegerField(
        required=False, min_value=1, help_text="A timeline event to add the file's link to."
    )


def _answer(attachment: Attachment) -> dict[str, Any]:
    return {**attachment_json(attachment), "markdown": services.attachment_markdown(attachment)}


class IncidentAttachmentsView(GenericAPIView):
    queryset = Attachment.objects.all()  # for the role check: view_ and add_attachment
    parser_classes = [MultiPartParser]
    serializer_class = AttachmentUploadSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="incident_attachments_list",
        summary="List an incident's attached files",
        parameters=[REF],
        responses={200: AttachmentSerializer(many=True), **problems(401, 403, 404)},
    )
    def get(self, request: Request, ref: str) -> Response:
        incident = incident_or_404(ref)
        rows = (
            Attachment.objects.filter(incident=incident)
            .select_related("uploaded_by")
            .order_by("created_at", "id")
        )
        return Response([_answer(a) for a in rows])

    @extend_schema(
        operation_id="incident_attachment_upload",
        summary="Attach a file to an incident",
        description=(
            "multipart/form-data with one `file`. Its type is read from its bytes: PNG, JPEG, "
            "GIF and WebP are shown inline where a text links them, everything else is served "
            "as a download. With `event`, the file's link is added to the end of that timeline "
            "event's text (not to lines Hindsight wrote itself: 400). 413 over "
            "HINDSIGHT_ATTACHMENT_MAX_MB (10 MB by default)."
        ),
        parameters=[REF],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={
            201: OpenApiResponse(AttachmentSerializer, description="Attached."),
            **problems(400, 401, 403, 404, d400="No file, an empty one, or a wrong event."),
            (413, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                PROBLEM_REF, description="Over the attachment size limit."
            ),
            (415, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                PROBLEM_REF, description="The body is not multipart/form-data."
            ),
        },
    )
    def post(self, request: Request, ref: str) -> Response:
        incident = incident_or_404(ref)
        # Refused before the body is parsed: a huge upload costs neither the disk nor the time.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > services.max_bytes() + ENVELOPE_BYTES:
            raise self._too_large()
        if len(request.FILES.getlist("file")) > 1:
            raise ValidationError({"file": ["Send one file per request."]})
        serializer = AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if (upload.size or 0) > services.max_bytes():
            raise self._too_large()
        event = None
        if "event" in serializer.validated_data:
            event = TimelineEvent.objects.filter(
                incident=incident, pk=serializer.validated_data["event"]
            ).first()
            if event is None:
                raise ValidationError({"event": ["No such timeline event on this incident."]})
        try:
            attachment = services.attachment_upload(
                incident=incident, upload=upload, user=request_user(request), timeline_event=event
            )
        except AuditLineLocked:
            raise ValidationError(
                {"event": ["Hindsight wrote this line itself, so it cannot take a file."]}
            ) from None
        return Response(_answer(attachment), status=201)

    def _too_large(self) -> Problem:
        return Problem(
            services.too_large_message(), status_code=413, problem_type="attachment-too-large"
        )
