"""The REST face of incidents: viewsets that validate with serializers and write through services.

Incidents are addressed by reference (INC-12, inc-12 or 12). Their rows (timeline events,
causes, lessons, action items, success criteria) are nested under them; a row of another
incident is a 404 however it is asked for.

Optimistic concurrency on the incident row: GET answers an ETag, the incident's version as a
strong ETag ("7"). PUT and PATCH must send it back in If-Match: without it 428
(precondition-required); anything but one quoted version, including `*` and weak W/"7", is 400
(malformed-if-match), since `*` would overwrite blindly, which is what If-Match exists to stop;
a stale one 412 (precondition-failed) with `current_version`. The compare-and-set is the
service's UPDATE ... WHERE version = v. Rows of the sections do not change the incident's
version: editing one never conflicts with someone editing the prose.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
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

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_RE as IDEMPOTENCY_KEY_RE
from api.pagination import PagePagination, TimeCursorPagination
from api.permissions import RolePermission
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from incidents import selectors, services
from incidents.api import serializers as s
from incidents.api.filters import (
    REFERENCE_PATTERN,
    ActionItemFilter,
    IncidentFilter,
    StableOrderingFilter,
)
from incidents.models import (
    ActionItem,
    Cause,
    Incident,
    Lesson,
    PathPriority,
    SuccessCriterion,
    TimelineEvent,
)

# How many of the latest timeline events the incident's detail embeds.
TIMELINE_EMBEDDED = 100
IF_MATCH_RE = re.compile(r'^"([0-9]+)"$')
# What if_match_version() answers for a well-formed ETag that no version can equal.
NO_VERSION = s.MAX_ID + 1


# --- Permissions -------------------------------------------------------------------------------


class ChangeOnPost(RolePermission):
    """For transitions (resolve, complete, ...): a POST that changes a row, not one that adds a
    row, so it needs the model's change permission."""

    perms_map = {**RolePermission.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


# --- Schema helpers ----------------------------------------------------------------------------

_PROBLEMS = {
    400: "Invalid input; `errors` maps each field to its messages.",
    401: "No credentials, or a token that is unknown, expired or revoked.",
    403: "The role may not do this, or a read-scope token tried to write.",
    404: "No such incident or row.",
    409: "The first request with this Idempotency-Key is still running; retry later.",
    412: "If-Match is stale: the incident changed; `current_version` is its version now.",
    415: "The body is not application/json.",
    422: "This Idempotency-Key was already used with a different request.",
    428: "If-Match is missing; send the ETag of the incident you read.",
}


# The component api.schema adds to the schema; every error is one.
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems(*codes: int, **descriptions: str) -> dict:
    """Problem answers particular to an operation (api.schema adds the ones common to all),
    described for it: problems(400, 412, d400="Why.")."""
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            PROBLEM_REF, description=descriptions.get(f"d{code}", _PROBLEMS[code])
        )
        for code in codes
    }


READ_PROBLEMS = (401, 403, 404)
LIST_PROBLEMS = (400, 401, 403, 404)  # 400: a bad filter; 404: a page or cursor past the end
WRITE_PROBLEMS = (400, 401, 403, 404, 415)
IDEMPOTENCY_PROBLEMS = (409, 422)

REF = OpenApiParameter(
    "ref",
    str,
    OpenApiParameter.PATH,
    description="The incident's reference: INC-12, inc-12 or just 12.",
)
INCIDENT_REF = OpenApiParameter(
    "incident_ref",
    str,
    OpenApiParameter.PATH,
    description="The incident's reference: INC-12, inc-12 or just 12.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 412],
    required=True,
    description='The incident\'s version as a strong ETag, e.g. "7".',
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=IF_MATCH_RE.pattern,
    description=(
        'The ETag of the incident as you last read it, e.g. "7". Missing: 428. Not one quoted '
        "version (`*` and weak tags are refused): 400. Stale: 412."
    ),
)
LOCATION = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[201],
    required=True,
    description="The URL of what was created.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    pattern=IDEMPOTENCY_KEY_RE.pattern,
    description=(
        "Makes the POST safe to retry: a retry with the same key and body replays the first "
        "answer byte for byte and creates nothing (Idempotent-Replayed: true); the same key "
        "with another body is 422, and while the first is still running 409. Keys are kept "
        "for 48 hours, per token (or per logged-in user)."
    ),
)


# --- Shared plumbing ---------------------------------------------------------------------------


def acting(view) -> str | None:
    """The viewset's action; for OPTIONS, the one the method it describes would run, so the
    metadata shows what a POST or PUT accepts."""
    if view.action == "metadata":
        return view.action_map.get(view.request.method.lower(), view.action)
    return view.action


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(request: Request) -> int:
    """The version the client read, from If-Match; 428 or 400 problems otherwise."""
    header = request.headers.get("If-Match")
    if header is None:
        raise Problem(
            'Send If-Match with the ETag of the incident you read, e.g. If-Match: "7".',
            status_code=428,
            problem_type="precondition-required",
        )
    # Not stripped: the schema's pattern is the whole value, and servers trim the field already.
    match = IF_MATCH_RE.match(header)
    if match is not None:
        digits = match.group(1)
        # Strong comparison is by characters: "07" or a 30-digit tag is no version we sent.
        if len(digits) > 10 or digits != str(int(digits)):
            return NO_VERSION
        return int(digits)
    if header == "*":
        detail = 'If-Match: * is not supported; send the ETag you read, e.g. "7".'
    elif header.startswith("W/"):
        detail = 'Weak ETags never match for a write; send the strong ETag, e.g. "7".'
    else:
        detail = 'If-Match must be one quoted version, as the ETag was sent, e.g. "7".'
    raise Problem(detail, status_code=400, problem_type="malformed-if-match")


def incident_or_404(reference: str, queryset: QuerySet[Incident] | None = None) -> Incident:
    try:
        return (queryset if queryset is not None else Incident.objects.all()).by_reference(
            reference
        )
    except Incident.DoesNotExist:
        raise NotFound("No incident has this reference.") from None


def id_or_404(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 1 <= value <= s.MAX_ID:  # larger than any id the database can hold
        raise NotFound()
    return value


def incident_detail(reference: str) -> Incident:
    """One incident with every section, in a fixed number of queries however long they are."""
    user_model = get_user_model()
    incident = incident_or_404(
        reference,
        Incident.objects.select_related("service", "created_by").prefetch_related(
            Prefetch("authors", queryset=user_model.objects.order_by(user_model.USERNAME_FIELD)),
            "causes",
            "lessons",
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
            "success_criteria",
            "status_items",
            Prefetch("priorities", queryset=PathPriority.objects.prefetch_related("options")),
            "final_notes",
        ),
    )
    # The latest events only: a timeline grows without bound; the full one is its own list.
    latest = list(
        TimelineEvent.objects.filter(incident=incident)
        .select_related("created_by")
        .order_by("-occurred_at", "-id")[: TIMELINE_EMBEDDED + 1]
    )
    incident.timeline_truncated = len(latest) > TIMELINE_EMBEDDED
    incident.embedded_timeline = latest[:TIMELINE_EMBEDDED][::-1]
    return incident


class TimelineCursorPagination(TimeCursorPagination):
    """An incident's timeline in time order, oldest first."""

    ordering = ("occurred_at", "id")


# --- Incidents ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List incidents",
        description=(
            "Newest first by default (`-started_at`, then `-number`). `ordering` takes "
            "started_at, number, severity, status or updated_at, `-` for descending."
        ),
        responses={200: s.IncidentListSerializer(many=True), **problems(*LIST_PROBLEMS)},
    ),
    retrieve=extend_schema(
        summary="Read an incident with its whole post-mortem",
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*READ_PROBLEMS)},
    ),
    create=extend_schema(
        summary="Declare an incident",
        request=s.IncidentCreateSerializer,
        parameters=[ETAG, LOCATION],
        responses={201: s.IncidentDetailSerializer, **problems(400, 401, 403, 415)},
    ),
    update=extend_schema(
        summary="Replace the incident's editable fields",
        description="Omitted optional fields return to their defaults. Needs If-Match.",
        request=s.IncidentUpdateSerializer,
        parameters=[REF, IF_MATCH, ETAG],
        responses={
            200: s.IncidentDetailSerializer,
            **problems(*WRITE_PROBLEMS, 412, 428, d400="Invalid fields, or a malformed If-Match."),
        },
    ),
    partial_update=extend_schema(
        summary="Change some of the incident's fields",
        description="Only the fields sent change. Needs If-Match.",
        request=s.IncidentUpdateSerializer,
        parameters=[REF, IF_MATCH, ETAG],
        responses={
            200: s.IncidentDetailSerializer,
            **problems(*WRITE_PROBLEMS, 412, 428, d400="Invalid fields, or a malformed If-Match."),
        },
    ),
)
class IncidentViewSet(viewsets.GenericViewSet):
    queryset = Incident.objects.all()  # for the role check: view/add/change_incident
    lookup_url_kwarg = "ref"
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = IncidentFilter
    ordering_fields = ["started_at", "number", "severity", "status", "updated_at"]
    ordering = ["-started_at", "-number"]
    ordering_tiebreak = "-number"
    pagination_class = PagePagination

    def get_serializer_class(self):
        return {
            "list": s.IncidentListSerializer,
            "create": s.IncidentCreateSerializer,
            "update": s.IncidentUpdateSerializer,
            "partial_update": s.IncidentUpdateSerializer,
            "resolve": s.ResolveSerializer,
            "postmortem_state": s.PostmortemStateSerializer,
        }.get(acting(self), s.IncidentDetailSerializer)

    def get_object(self) -> Incident:
        return incident_or_404(self.kwargs[self.lookup_url_kwarg])

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, Problem) and exc.extra.get("current_version") is not None:
            response["ETag"] = etag(exc.extra["current_version"])
        return response

    def _detail_response(self, reference: str | int, *, status: int = 200) -> Response:
        incident = incident_detail(str(reference))
        timeline_url = self.request.build_absolute_uri(
            reverse("incident-timeline-event-list", kwargs={"incident_ref": incident.reference})
        )
        context = {**self.get_serializer_context(), "timeline_url": timeline_url}
        response = Response(
            s.IncidentDetailSerializer(incident, context=context).data, status=status
        )
        response["ETag"] = etag(incident.version)
        return response

    def list(self, request: Request) -> Response:
        incidents = self.filter_queryset(
            Incident.objects.select_related("service").only("service", *s.INCIDENT_LIST_FIELDS)
        )
        page = self.paginate_queryset(incidents)
        data = s.IncidentListSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(data.data)

    def retrieve(self, request: Request, ref: str) -> Response:
        return self._detail_response(ref)

    def create(self, request: Request) -> Response:
        serializer = s.IncidentCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        incident = services.incident_create(created_by=request.user, **serializer.validated_data)
        response = self._detail_response(incident.number, status=201)
        response["Location"] = request.build_absolute_uri(
            reverse("incident-detail", kwargs={"ref": incident.reference})
        )
        return response

    def update(self, request: Request, ref: str) -> Response:
        return self._update(request, ref, partial=False)

    def partial_update(self, request: Request, ref: str) -> Response:
        return self._update(request, ref, partial=True)

    def _update(self, request: Request, ref: str, *, partial: bool) -> Response:
        incident = self.get_object()
        expected = if_match_version(request)
        serializer = s.IncidentUpdateSerializer(
            incident, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        try:
            if expected > s.MAX_ID:  # no version can match it: stale by definition
                raise services.StaleVersion(current_version=incident.version)
            services.incident_update(
                incident=incident,
                expected_version=expected,
                user=request.user,
                **serializer.validated_data,
            )
        except services.StaleVersion as stale:
            raise Problem(
                "The incident changed since you read it; read it again and reapply your change.",
                status_code=412,
                problem_type="precondition-failed",
                current_version=stale.current_version,
            ) from None
        return self._detail_response(incident.number)

    @extend_schema(
        summary="Resolve the incident",
        description=(
            "Sets the status to resolved and stamps resolved_at (the given time, or now), and "
            "writes it on the timeline. Resolving a resolved incident changes nothing."
        ),
        request=s.ResolveSerializer,
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*WRITE_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="resolve", permission_classes=[ChangeOnPost])
    def resolve(self, request: Request, ref: str) -> Response:
        incident = self.get_object()
        serializer = s.ResolveSerializer(
            data=request.data, context={**self.get_serializer_context(), "incident": incident}
        )
        serializer.is_valid(raise_exception=True)
        services.incident_set_status(
            incident=incident,
            status=Incident.Status.RESOLVED,
            user=request.user,
            at=serializer.validated_data.get("resolved_at"),
        )
        return self._detail_response(incident.number)

    @extend_schema(
        summary="Move the post-mortem to draft, in review or published",
        request=s.PostmortemStateSerializer,
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*WRITE_PROBLEMS)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="postmortem-state",
        permission_classes=[ChangeOnPost],
    )
    def postmortem_state(self, request: Request, ref: str) -> Response:
        incident = self.get_object()
        serializer = s.PostmortemStateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.incident_set_postmortem_state(
            incident=incident, state=serializer.validated_data["state"], user=request.user
        )
        return self._detail_response(incident.number)


# --- Rows of an incident's sections ------------------------------------------------------------


def _row_schema(
    *,
    plural: str,
    read: type[s.FastReadSerializer],
    write: type[s.IncidentRowSerializer],
    idempotent: bool = False,
    ordering: str = "by hand order (`order`, then `id`)",
):
    create_params = [INCIDENT_REF, LOCATION] + ([IDEMPOTENCY_KEY] if idempotent else [])
    create_problems = WRITE_PROBLEMS + (IDEMPOTENCY_PROBLEMS if idempotent else ())
    return extend_schema_view(
        list=extend_schema(
            summary=f"List an incident's {plural}",
            description=f"Ordered {ordering}.",
            parameters=[INCIDENT_REF],
            responses={200: read(many=True), **problems(*LIST_PROBLEMS)},
        ),
        retrieve=extend_schema(
            parameters=[INCIDENT_REF], responses={200: read, **problems(*READ_PROBLEMS)}
        ),
        create=extend_schema(
            request=write,
            parameters=create_params,
            responses={201: read, **problems(*create_problems)},
        ),
        update=extend_schema(
            description="Omitted optional fields return to their defaults.",
            request=write,
            parameters=[INCIDENT_REF],
            responses={200: read, **problems(*WRITE_PROBLEMS)},
        ),
        partial_update=extend_schema(
            request=write,
            parameters=[INCIDENT_REF],
            responses={200: read, **problems(*WRITE_PROBLEMS)},
        ),
        destroy=extend_schema(
            parameters=[INCIDENT_REF],
            responses={204: OpenApiResponse(description="Deleted."), **problems(*READ_PROBLEMS)},
        ),
    )


class IncidentRowViewSet(viewsets.GenericViewSet):
    """Full CRUD on one kind of row of the incident in the URL, written through part_save and
    part_delete. Subclasses name the model and the two serializers."""

    model: type[models.Model]
    read_serializer: type[s.FastReadSerializer]
    write_serializer: type[s.IncidentRowSerializer]
    related: tuple[str, ...] = ()
    list_ordering: tuple[str, ...] = ("order", "id")

    lookup_value_regex = "[0-9]{1,18}"
    filter_backends: list = []
    pagination_class = PagePagination

    def get_queryset(self) -> QuerySet:
        # Unscoped and lazy: the role check reads the model from it. rows() is the real one.
        return self.model.objects.all()

    def get_serializer_class(self):
        if acting(self) in ("create", "update", "partial_update"):
            return self.write_serializer
        return self.read_serializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "incident": self.incident}

    @property
    def incident(self) -> Incident:
        if not hasattr(self, "_incident"):
            self._incident = incident_or_404(
                self.kwargs["incident_ref"], Incident.objects.select_related("service")
            )
        return self._incident

    def rows(self) -> QuerySet:
        return self.model.objects.filter(incident=self.incident).select_related(*self.related)

    def get_object(self):
        return self.row(self.kwargs["pk"])

    def row(self, pk: Any):
        row = self.rows().filter(pk=id_or_404(pk)).first()
        if row is None:
            raise NotFound("This incident has no such row.")
        return row

    def _read(self, row, *, status: int = 200) -> Response:
        data = self.read_serializer(row, context=self.get_serializer_context()).data
        return Response(data, status=status)

    def list(self, request: Request, incident_ref: str) -> Response:
        page = self.paginate_queryset(self.rows().order_by(*self.list_ordering))
        data = self.read_serializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._read(self.get_object())

    def create(self, request: Request, incident_ref: str) -> Response:
        serializer = self.write_serializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        row = self.add_row(dict(serializer.validated_data), request.user)
        response = self._read(self.row(row.pk), status=201)
        response["Location"] = request.build_absolute_uri(
            reverse(
                f"{self.basename}-detail",
                kwargs={"incident_ref": self.incident.reference, "pk": row.pk},
            )
        )
        return response

    def update(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, incident_ref: str, pk: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        row = self.get_object()
        serializer = self.write_serializer(
            row, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        self.change_row(row, dict(serializer.validated_data), request.user)
        return self._read(self.get_object())

    def destroy(self, request: Request, incident_ref: str, pk: str) -> Response:
        services.part_delete(row=self.get_object(), user=request.user)
        return Response(status=204)

    def add_row(self, values: dict[str, Any], user) -> models.Model:
        return services.part_save(row=self.model(incident=self.incident, **values), user=user)

    def change_row(self, row: models.Model, values: dict[str, Any], user) -> None:
        for name, value in values.items():
            setattr(row, name, value)
        services.part_save(row=row, user=user)


@_row_schema(
    plural="timeline events",
    read=s.TimelineEventSerializer,
    write=s.TimelineEventWriteSerializer,
    idempotent=True,
    ordering="by `occurred_at`, then `id`, oldest first, cursor-paginated",
)
class TimelineEventViewSet(IncidentRowViewSet):
    model = TimelineEvent
    read_serializer = s.TimelineEventSerializer
    write_serializer = s.TimelineEventWriteSerializer
    related = ("created_by",)
    list_ordering = ("occurred_at", "id")
    pagination_class = TimelineCursorPagination
    idempotent_post = True  # api.idempotency: Idempotency-Key on POST

    def add_row(self, values: dict[str, Any], user) -> models.Model:
        return services.timeline_event_add(incident=self.incident, created_by=user, **values)


@_row_schema(plural="causes", read=s.CauseSerializer, write=s.CauseWriteSerializer)
class CauseViewSet(IncidentRowViewSet):
    model = Cause
    read_serializer = s.CauseSerializer
    write_serializer = s.CauseWriteSerializer


@_row_schema(plural="lessons", read=s.LessonSerializer, write=s.LessonWriteSerializer)
class LessonViewSet(IncidentRowViewSet):
    model = Lesson
    read_serializer = s.LessonSerializer
    write_serializer = s.LessonWriteSerializer


@_row_schema(
    plural="action items",
    read=s.ActionItemSerializer,
    write=s.ActionItemWriteSerializer,
    idempotent=True,
)
class IncidentActionItemViewSet(IncidentRowViewSet):
    model = ActionItem
    read_serializer = s.ActionItemSerializer
    write_serializer = s.ActionItemWriteSerializer
    related = ("owner",)
    idempotent_post = True  # api.idempotency: Idempotency-Key on POST


@_row_schema(
    plural="success criteria",
    read=s.SuccessCriterionSerializer,
    write=s.SuccessCriterionWriteSerializer,
)
class SuccessCriterionViewSet(IncidentRowViewSet):
    model = SuccessCriterion
    read_serializer = s.SuccessCriterionSerializer
    write_serializer = s.SuccessCriterionWriteSerializer

    # `done` goes through criterion_set_done, which stamps done_at; one transaction for both.

    @transaction.atomic
    def add_row(self, values: dict[str, Any], user) -> models.Model:
        done = values.pop("done", False)
        row = super().add_row(values, user)
        if done:
            services.criterion_set_done(criterion=row, done=True, user=user)
        return row

    @transaction.atomic
    def change_row(self, row: models.Model, values: dict[str, Any], user) -> None:
        done = values.pop("done", None)
        super().change_row(row, values, user)
        if done is not None:
            services.criterion_set_done(criterion=row, done=done, user=user)


# --- Action items across incidents -------------------------------------------------------------

ACTION_ITEM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List action items of every incident",
        description=(
            "All statuses unless `status` says otherwise. By default overdue items first (the "
            "most overdue leading), then by due date with undated ones last, then priority, "
            "then id. `ordering` takes due_date, priority, created_at, updated_at or id, `-` "
            "for descending."
        ),
        parameters=[
            OpenApiParameter(
                "incident",
                str,
                pattern=REFERENCE_PATTERN,
                description="An incident's reference: INC-12, inc-12 or 12.",
            )
        ],
        responses={200: s.ActionItemListSerializer(many=True), **problems(*LIST_PROBLEMS)},
    ),
    retrieve=extend_schema(
        summary="Read an action item",
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    ),
)
class ActionItemViewSet(viewsets.GenericViewSet):
    queryset = ActionItem.objects.all()  # for the role check: view/change_actionitem
    serializer_class = s.ActionItemListSerializer
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = ActionItemFilter
    ordering_fields = ["due_date", "priority", "created_at", "updated_at", "id"]
    ordering = None  # the selector's: overdue first, then due date, priority, id
    ordering_tiebreak = "id"
    pagination_class = PagePagination

    def get_queryset(self) -> QuerySet[ActionItem]:
        return selectors.action_item_list(today=timezone.localdate(), statuses=None)

    def get_object(self, queryset: QuerySet[ActionItem] | None = None) -> ActionItem:
        queryset = self.get_queryset() if queryset is None else queryset
        item = queryset.filter(pk=id_or_404(self.kwargs["pk"])).first()
        if item is None:
            raise NotFound("No action item has this id.")
        return item

    def _read(self, item: ActionItem) -> Response:
        return Response(
            s.ActionItemListSerializer(item, context=self.get_serializer_context()).data
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = s.ActionItemListSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(data.data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._read(self.get_object())

    @extend_schema(
        summary="Tick an action item done",
        description="Completing a done item changes nothing.",
        request=None,
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def complete(self, request: Request, pk: str) -> Response:
        # The plain row: the list's read path defers fields the service's history needs.
        item = self.get_object(ActionItem.objects.all())
        services.action_item_complete(item=item, user=request.user)
        return self._read(self.get_object())

    @extend_schema(
        summary="Reopen a done action item",
        description="Reopening an item that is not done changes nothing.",
        request=None,
        responses={200: s.ActionItemListSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeOnPost])
    def reopen(self, request: Request, pk: str) -> Response:
        item = self.get_object(ActionItem.objects.all())
        services.action_item_reopen(item=item, user=request.user)
        return self._read(self.get_object())
