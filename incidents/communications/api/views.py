"""Communications over the API: templates, drafts generated from them, and the workflow.

    GET   /communication-templates                      every template, with its placeholders
    POST  /communication-templates                      add one (checked as the form checks)
    GET   /communication-templates/{slug}
    PATCH /communication-templates/{slug}               change one
    GET   /incidents/{ref}/communications               newest first
    POST  /incidents/{ref}/communications/generate      {"template": slug} -> 201, a draft
    GET   /incidents/{ref}/communications/{id}
    PATCH /incidents/{ref}/communications/{id}          a draft's subject and body
    DELETE /incidents/{ref}/communications/{id}         discard a draft
    POST  /incidents/{ref}/communications/{id}/approve
    POST  /incidents/{ref}/communications/{id}/send     send or publish; it is immutable after
    POST  /incidents/{ref}/communications/{id}/correct  -> 201, a draft correcting a sent one

A step the communication's state does not allow (editing a sent one, sending a draft) is 409
with type `communication-state` and its `communication_status`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.filters import QueryFilterBackend, UpdatedAfterFilterSet
from api.pagination import PagePagination
from api.permissions import request_user
from api.problems import Problem
from incidents.communications import selectors, services
from incidents.communications.api.serializers import (
    CommunicationSerializer,
    CommunicationTemplateSerializer,
    CommunicationTemplateWriteSerializer,
    CommunicationUpdateSerializer,
    GenerateSerializer,
    RetractSerializer,
)
from incidents.models import Communication, CommunicationTemplate, Incident
from incidents.postmortem.api.views.common import (
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_PROBLEMS,
    INCIDENT_REF,
    LIST_PROBLEMS,
    LOCATION,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    ChangeOnPost,
    acting,
    id_or_404,
    incident_or_404,
    problems,
)

STATE_CONFLICT = (
    "The communication's state does not allow this step; `communication_status` says what it is."
)
SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The template's slug.")


def _state_problems(*codes: int) -> dict[Any, Any]:
    return problems(*codes, 409, d409=STATE_CONFLICT)


@contextmanager
def state_conflicts() -> Iterator[None]:
    try:
        yield
    except services.CommunicationStateError as error:
        raise Problem(
            str(error),
            status_code=409,
            problem_type="communication-state",
            communication_status=error.status,
        ) from None


# --- Templates ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List communication templates",
        responses={200: CommunicationTemplateSerializer(many=True), **problems(*LIST_PROBLEMS)},
    ),
    retrieve=extend_schema(
        summary="Read a communication template",
        parameters=[SLUG],
        responses={200: CommunicationTemplateSerializer, **problems(*READ_PROBLEMS)},
    ),
    create=extend_schema(
        summary="Add a communication template",
        description="Refused with field errors if it does not compile, names an unknown "
        "placeholder, an internal one in a public template, or anything with an underscore.",
        request=CommunicationTemplateWriteSerializer,
        parameters=[LOCATION],
        responses={201: CommunicationTemplateSerializer, **problems(400, 401, 403, 415)},
    ),
    partial_update=extend_schema(
        summary="Change a communication template",
        request=CommunicationTemplateWriteSerializer,
        parameters=[SLUG],
        responses={200: CommunicationTemplateSerializer, **problems(*WRITE_PROBLEMS)},
    ),
)
class CommunicationTemplateViewSet(viewsets.GenericViewSet):
    # The role check: everyone reads templates; editors and admins add and change them.
    queryset = CommunicationTemplate.objects.all()
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]{1,100}"
    filter_backends = [QueryFilterBackend]
    filterset_class = UpdatedAfterFilterSet
    pagination_class = PagePagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self) -> type[BaseSerializer]:
        if acting(self) in ("create", "partial_update"):
            return CommunicationTemplateWriteSerializer
        return CommunicationTemplateSerializer

    def get_object(self) -> CommunicationTemplate:
        template = CommunicationTemplate.objects.filter(slug=self.kwargs["slug"]).first()
        if template is None:
            raise NotFound("No template has this slug.")
        return template

    def _read(self, template: CommunicationTemplate, *, status: int = 200) -> Response:
        return Response(CommunicationTemplateSerializer(template).data, status=status)

    def list(self, request: Request) -> Response:
        rows = self.filter_queryset(
            CommunicationTemplate.objects.order_by("audience", "name", "id")
        )
        page = self.paginate_queryset(rows.values(*CommunicationTemplateSerializer.values()))
        assert page is not None  # pagination_class is set
        return self.get_paginated_response(CommunicationTemplateSerializer.shape(page))

    def retrieve(self, request: Request, slug: str) -> Response:
        return self._read(self.get_object())

    def create(self, request: Request) -> Response:
        serializer = CommunicationTemplateWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.communication_template_save(
            template=CommunicationTemplate(**serializer.validated_data)
        )
        response = self._read(template, status=201)
        response["Location"] = request.build_absolute_uri(
            reverse("communication-template-detail", kwargs={"slug": template.slug})
        )
        return response

    def partial_update(self, request: Request, slug: str) -> Response:
        template = self.get_object()
        serializer = CommunicationTemplateWriteSerializer(template, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        for name, value in serializer.validated_data.items():
            setattr(template, name, value)
        return self._read(services.communication_template_save(template=template))


# --- An incident's communications -----------------------------------------------------------------

_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The communication's id.")


@extend_schema_view(
    list=extend_schema(
        summary="List an incident's communications",
        description="Newest first.",
        parameters=[INCIDENT_REF],
        responses={200: CommunicationSerializer(many=True), **problems(*LIST_PROBLEMS)},
    ),
    retrieve=extend_schema(
        summary="Read a communication",
        parameters=[INCIDENT_REF, _ID],
        responses={200: CommunicationSerializer, **problems(*READ_PROBLEMS)},
    ),
    partial_update=extend_schema(
        summary="Edit a draft's subject, body or the components it names",
        description="An approved one goes back to draft. A sent one is immutable: 409. "
        "`components` is for a status page update only: the components it names and the status "
        "each takes when it is published.",
        request=CommunicationUpdateSerializer,
        parameters=[INCIDENT_REF, _ID],
        responses={200: CommunicationSerializer, **_state_problems(*WRITE_PROBLEMS)},
    ),
    destroy=extend_schema(
        summary="Discard a draft",
        parameters=[INCIDENT_REF, _ID],
        responses={
            204: OpenApiResponse(description="Discarded."),
            **_state_problems(*READ_PROBLEMS),
        },
    ),
)
class CommunicationViewSet(viewsets.GenericViewSet):
    queryset = Communication.objects.all()  # for the role check: view/add/change_communication
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends = [QueryFilterBackend]
    filterset_class = UpdatedAfterFilterSet
    pagination_class = PagePagination
    idempotent_post = True  # api.idempotency: Idempotency-Key on every POST here
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_class(self) -> type[BaseSerializer]:
        by_action: dict[str | None, type[BaseSerializer]] = {
            "generate": GenerateSerializer,
            "partial_update": CommunicationUpdateSerializer,
        }
        return by_action.get(acting(self), CommunicationSerializer)

    @property
    def incident(self) -> Incident:
        if not hasattr(self, "_incident"):
            self._incident = incident_or_404(self.kwargs["incident_ref"])
        return self._incident

    def rows(self) -> QuerySet[Communication]:
        return selectors.communications_with_progress().filter(incident=self.incident)

    def get_object(self) -> Communication:
        return self.row(self.kwargs["pk"])

    def row(self, pk: Any) -> Communication:
        communication = self.rows().filter(pk=id_or_404(pk)).first()
        if communication is None:
            raise NotFound("This incident has no such communication.")
        communication.incident = self.incident
        return communication

    def _read(self, pk: int, *, status: int = 200) -> Response:
        return Response(CommunicationSerializer(self.row(pk)).data, status=status)

    def _created(self, request: Request, communication: Communication) -> Response:
        response = self._read(communication.pk, status=201)
        response["Location"] = request.build_absolute_uri(
            reverse(
                "incident-communication-detail",
                kwargs={"incident_ref": self.incident.reference, "pk": communication.pk},
            )
        )
        return response

    def list(self, request: Request, incident_ref: str) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.rows()))
        assert page is not None  # pagination_class is set
        for communication in page:
            communication.incident = self.incident
        return self.get_paginated_response(CommunicationSerializer.shape(page))

    def retrieve(self, request: Request, incident_ref: str, pk: str) -> Response:
        return Response(CommunicationSerializer(self.get_object()).data)

    def partial_update(self, request: Request, incident_ref: str, pk: str) -> Response:
        communication = self.get_object()
        serializer = CommunicationUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values: dict[str, Any] = serializer.validated_data
        with state_conflicts():
            services.communication_update(
                communication=communication,
                subject=values.get("subject", communication.subject),
                body=values.get("body", communication.body),
                user=request_user(request),
                component_statuses=values.get("components"),
            )
        return self._read(communication.pk)

    def destroy(self, request: Request, incident_ref: str, pk: str) -> Response:
        with state_conflicts():
            services.communication_discard(
                communication=self.get_object(), user=request_user(request)
            )
        return Response(status=204)

    @extend_schema(
        summary="Generate a draft from a template",
        description="Fills the template from the incident's facts, as its audience may see "
        "them (public audiences get public facts only), and returns the new draft.",
        request=GenerateSerializer,
        parameters=[INCIDENT_REF, LOCATION, IDEMPOTENCY_KEY],
        responses={
            201: CommunicationSerializer,
            **problems(*WRITE_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
        },
    )
    @action(detail=False, methods=["post"])
    def generate(self, request: Request, incident_ref: str) -> Response:
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        communication = services.communication_generate(
            incident=self.incident,
            template=serializer.validated_data["template"],
            user=request_user(request),
        )
        return self._created(request, communication)

    @extend_schema(
        summary="Approve a draft",
        request=None,
        parameters=[INCIDENT_REF, _ID, IDEMPOTENCY_KEY],
        responses={
            200: CommunicationSerializer,
            **_state_problems(*READ_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def approve(self, request: Request, incident_ref: str, pk: str) -> Response:
        with state_conflicts():
            services.communication_approve(
                communication=self.get_object(), user=request_user(request)
            )
        return self._read(int(pk))

    @extend_schema(
        summary="Send or publish an approved communication",
        description="It becomes immutable and goes on the incident's timeline. Emails to "
        "users and status page updates are then delivered to every confirmed subscriber and "
        "active webhook endpoint, once each, by the workers.",
        request=None,
        parameters=[INCIDENT_REF, _ID, IDEMPOTENCY_KEY],
        responses={
            200: CommunicationSerializer,
            **_state_problems(*READ_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def send(self, request: Request, incident_ref: str, pk: str) -> Response:
        with state_conflicts():
            services.communication_send(communication=self.get_object(), user=request_user(request))
        return self._read(int(pk))

    @extend_schema(
        summary="Start a correction of a sent communication",
        description="A new draft that names the sent one in `corrects`. It is written again "
        "from the sent one's template with the incident's facts as they are now (what needs "
        "correcting is usually a fact); without a template, from the sent text.",
        request=None,
        parameters=[INCIDENT_REF, _ID, LOCATION, IDEMPOTENCY_KEY],
        responses={
            201: CommunicationSerializer,
            **_state_problems(*READ_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
        },
    )
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, incident_ref: str, pk: str) -> Response:
        with state_conflicts():
            correction = services.communication_correct(
                communication=self.get_object(), user=request_user(request)
            )
        return self._created(request, correction)

    @extend_schema(
        summary="Withdraw a published status page update",
        description="For an update that said something wrong: the status page and the feeds "
        "stop showing it at once (the feeds carry an entry saying it was withdrawn), and the "
        "record keeps it with who withdrew it and why (`retracted_at`, `retracted_by`, "
        "`retraction_reason`). Only a published status page update can be withdrawn (409 "
        "otherwise); withdrawing it again changes nothing.",
        request=RetractSerializer,
        parameters=[INCIDENT_REF, _ID, IDEMPOTENCY_KEY],
        responses={
            200: CommunicationSerializer,
            **_state_problems(*WRITE_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def retract(self, request: Request, incident_ref: str, pk: str) -> Response:
        serializer = RetractSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with state_conflicts():
            services.communication_retract(
                communication=self.get_object(),
                user=request_user(request),
                reason=serializer.validated_data["reason"],
            )
        return self._read(int(pk))
