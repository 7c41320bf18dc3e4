"""Post-mortems as documents over the API.

GET  /incidents/{ref}/export?format=md|json   the incident as Markdown or JSON
                                              (schema hindsight.postmortem/v1)
POST /incidents/import[?dry_run=true]         a Markdown post-mortem in, a new incident out
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import orjson
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.parsers import SafeJSONParser
from api.permissions import request_user
from api.problems import Problem
from api.renderers import ORJSONRenderer
from incidents.documents import services
from incidents.documents.api.serializers import (
    ImportRequestSerializer,
    ImportResultSerializer,
    PostmortemExportSerializer,
)
from incidents.documents.exports import export_incident
from incidents.documents.importer import MAX_DOCUMENT_BYTES, DocumentError, Report
from incidents.documents.plan import AlreadyImported, ImportPlan, postmortem_plan
from incidents.models import Incident
from incidents.postmortem.api.views.common import READ_PROBLEMS, REF, incident_or_404, problems

MARKDOWN = "text/markdown"


class MarkdownRenderer(BaseRenderer):
    """Markdown text as it is; anything else (a problem) as JSON."""

    media_type = MARKDOWN
    format = "md"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, str):
            return data.encode("utf-8")
        return orjson.dumps(data)


class MarkdownParser(BaseParser):
    """A text/markdown body, read up to one byte past the import limit."""

    media_type = MARKDOWN

    def parse(  # type: ignore[override]  # DRF takes any parsed value; the stubs want a mapping
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if stream is None:
            return b""
        return stream.read(MAX_DOCUMENT_BYTES + 1)


_FORMAT = OpenApiParameter(
    "format",
    str,
    OpenApiParameter.QUERY,
    enum=["md", "json"],
    description="md: GitHub-flavoured Markdown; json: schema hindsight.postmortem/v1. Default: "
    "by the Accept header, else json.",
)


class IncidentExportView(GenericAPIView):
    queryset = Incident.objects.all()  # for the role check: view_incident
    renderer_classes = [ORJSONRenderer, MarkdownRenderer]
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="incident_export",
        summary="Export the post-mortem as Markdown or JSON",
        description=(
            "The whole post-mortem as a document. Markdown follows the seed's section order, "
            "with action items and success criteria as task lists, and imports back to the "
            "same structure. JSON holds every field of the incident and its parts in the "
            "versioned schema `hindsight.postmortem/v1` (Markdown texts, not their HTML)."
        ),
        parameters=[REF, _FORMAT],
        responses={
            (200, "application/json"): PostmortemExportSerializer,
            (200, MARKDOWN): OpenApiResponse(OpenApiTypes.STR, description="The document."),
            **problems(*READ_PROBLEMS),
        },
    )
    def get(self, request: Request, ref: str) -> Response:
        incident_or_404(ref)
        fmt = request.accepted_renderer.format
        exported = export_incident(ref, fmt)
        response = Response(exported.data)
        response["Content-Disposition"] = f'inline; filename="{exported.filename}"'
        return response


_DRY_RUN = OpenApiParameter(
    "dry_run",
    bool,
    OpenApiParameter.QUERY,
    description="true: answer what the import would create (200), and write nothing.",
)
_SERVICE = OpenApiParameter(
    "service",
    str,
    OpenApiParameter.QUERY,
    description="Slug of an existing service, for a text/markdown body (JSON bodies say it in "
    "`service`, which wins).",
)
_TITLE = OpenApiParameter(
    "title",
    str,
    OpenApiParameter.QUERY,
    description="The incident's title, for a text/markdown body without a '# ' heading.",
)
_FORCE = OpenApiParameter(
    "force",
    bool,
    OpenApiParameter.QUERY,
    description="true: import even when the document looks imported already.",
)
_BOOLEAN_WORDS = {"true": True, "1": True, "false": False, "0": False, "": False}
# Which request field an import refusal is about.
_FIELD = {"no_title": "title", "service": "service"}


def _preview(plan: ImportPlan) -> dict[str, Any]:
    draft = plan.draft
    if plan.service is not None:
        service = plan.service.slug
    else:
        assert plan.new_service is not None  # set whenever service is None
        service = plan.new_service[1]
    return {
        "title": draft.title,
        "service": service,
        "new_service": plan.service is None,
        "severity": draft.severity or Incident._meta.get_field("severity").default,
        "status": draft.status,
        "started_at": draft.started_at,
        "resolved_at": draft.resolved_at,
        "duplicate_of": plan.duplicate.reference if plan.duplicate else None,
    }


class IncidentImportView(GenericAPIView):
    queryset = Incident.objects.all()  # for the role check: add_incident
    parser_classes = [SafeJSONParser, MarkdownParser]
    serializer_class = ImportRequestSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="incident_import",
        summary="Import a Markdown post-mortem as a new incident",
        description=(
            'Send the document as a `text/markdown` body, or as JSON `{"markdown": ..., '
            '"service": slug, "title": ...}`. Headings are matched by meaning (the seed\'s '
            "layout, Google SRE's, PagerDuty's and Hindsight's own export); whatever is not "
            "recognized is kept verbatim as an `other` final note and listed in the report. "
            "All or nothing: one transaction. 400 for a document that is binary, empty, has no "
            "title or names no existing service (`errors` says which field); 409 for a "
            "document that looks imported already (the same text, or the same service and "
            "start), naming that incident in `duplicate_of`, unless `force=true`; 413 over 1 MB."
        ),
        request={"application/json": ImportRequestSerializer, MARKDOWN: OpenApiTypes.STR},
        parameters=[_DRY_RUN, _FORCE, _SERVICE, _TITLE],
        responses={
            201: OpenApiResponse(ImportResultSerializer, description="Imported."),
            200: OpenApiResponse(ImportResultSerializer, description="The dry run's preview."),
            **problems(400, 401, 403, 415, d400="A document that cannot be imported."),
            (409, "application/problem+json"): OpenApiResponse(
                {"$ref": "#/components/schemas/Problem"},
                description="Imported already; `duplicate_of` names the incident.",
            ),
            (413, "application/problem+json"): OpenApiResponse(
                {"$ref": "#/components/schemas/Problem"}, description="Over 1 MB."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        dry_run = self._flag(request, "dry_run")
        force = self._flag(request, "force")
        data, service, title = self._document(request)
        try:
            if dry_run:
                plan = postmortem_plan(data=data, title=title, service_slug=service)
                return self._answer(None, plan.draft.report, _preview(plan), dry_run=True)
            result = services.postmortem_import(
                data=data,
                user=request_user(request),
                title=title,
                service_slug=service,
                force=force,
            )
        except AlreadyImported as error:
            raise Problem(
                error.message + " Send force=true to import it as a new incident anyway.",
                status_code=http.HTTP_409_CONFLICT,
                problem_type="already-imported",
                duplicate_of=error.incident.reference,
            ) from None
        except DocumentError as error:
            if error.code == "too_large":
                raise Problem(
                    error.message, status_code=413, problem_type="document-too-large"
                ) from None
            raise ValidationError({_FIELD.get(error.code, "markdown"): [error.message]}) from None
        incident = result.incident
        preview = {
            "title": incident.title,
            "service": incident.service.slug,
            "new_service": False,
            "severity": incident.severity,
            "status": incident.status,
            "started_at": incident.started_at,
            "resolved_at": incident.resolved_at,
            "duplicate_of": None,
        }
        return self._answer(incident, result.report, preview, dry_run=False)

    def _flag(self, request: Request, name: str) -> bool:
        value = request.query_params.get(name, "").lower()
        if value not in _BOOLEAN_WORDS:
            raise ValidationError({name: ["Must be true or false."]})
        return _BOOLEAN_WORDS[value]

    def _document(self, request: Request) -> tuple[bytes | str, str | None, str | None]:
        service = request.query_params.get("service") or None
        title = request.query_params.get("title") or None
        body = request.data
        if isinstance(body, bytes):
            return body, service, title
        if not isinstance(body, dict):
            raise ParseError("Send a JSON object or a text/markdown body.")
        serializer = ImportRequestSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        return (
            fields["markdown"],
            fields.get("service") or service,
            fields.get("title") or title,
        )

    def _answer(
        self,
        incident: Incident | None,
        report: Report,
        preview: dict[str, Any],
        *,
        dry_run: bool,
    ) -> Response:
        url = None
        if incident is not None:
            url = self.request.build_absolute_uri(
                reverse("incident-detail", kwargs={"ref": incident.reference})
            )
        body = ImportResultSerializer(
            {
                "reference": incident.reference if incident else None,
                "url": url,
                "dry_run": dry_run,
                "preview": preview,
                "report": report.as_dict(),
            }
        ).data
        response = Response(body, status=http.HTTP_200_OK if dry_run else http.HTTP_201_CREATED)
        if url:
            response["Location"] = url
        return response
