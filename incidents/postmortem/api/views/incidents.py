"""Incidents: list, detail, create, guarded updates and transitions."""

from __future__ import annotations

from django.contrib.admin.models import DELETION, LogEntry
from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from api.conditional import versioned_etag
from api.filters import QueryFilterBackend, StableOrderingFilter
from api.pagination import PagePagination
from api.permissions import request_user
from api.problems import Problem
from core.lists import CappedList, LeanList
from incidents.insights import search
from incidents.models import (
    Incident,
)
from incidents.postmortem import selectors, services
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.filters import IncidentFilter
from incidents.postmortem.api.views.common import (
    ETAG,
    IF_MATCH,
    LIST_PROBLEMS,
    LOCATION,
    READ_PROBLEMS,
    REF,
    WRITE_PROBLEMS,
    acting,
    etag,
    if_match_version,
    incident_detail,
    incident_or_404,
    problems,
)
from incidents.postmortem.api.views.draft import DraftActions, DraftDecisionSerializer
from incidents.postmortem.api.views.references import pop_tags, references_taken, set_tags
from incidents.postmortem.api.views.transitions import TransitionActions

# --- Incidents ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List incidents",
        description=(
            "Newest first by default (`-started_at`, then `-number`). `ordering` takes "
            "started_at, number, severity, status or updated_at, `-` for descending. "
            "Duplicates are left out unless `duplicates` asks for them. With `q`, the best "
            "match comes first unless `ordering` is given (or keyset pages, which keep the "
            "list's order), and each row says how it matched. Numbered pages (`page`, or "
            "`page=last`), or keyset pages (`cursor`, empty for the first page) that cost the "
            "same however deep."
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
        responses={
            201: s.IncidentDetailSerializer,
            **problems(
                400, 401, 403, 409, 415, d409="An external reference names another incident."
            ),
        },
    ),
    update=extend_schema(
        summary="Replace the incident's editable fields",
        description="Omitted optional fields return to their defaults. Needs If-Match.",
        request=s.IncidentUpdateSerializer,
        parameters=[REF, IF_MATCH, ETAG],
        responses={
            200: s.IncidentDetailSerializer,
            **problems(
                *WRITE_PROBLEMS,
                409,
                412,
                428,
                d400="Invalid fields, or a malformed If-Match.",
                d409="An external reference names another incident.",
            ),
        },
    ),
    destroy=extend_schema(
        summary="Delete the incident",
        description=(
            "Admins only, as in the admin: the incident goes with its whole post-mortem, its "
            "messages and its attached files. The admin's log records who deleted it, and the "
            "change feed records incident.deleted (and action_item.deleted for its items)."
        ),
        parameters=[REF],
        responses={204: None, **problems(*READ_PROBLEMS)},
    ),
    partial_update=extend_schema(
        summary="Change some of the incident's fields",
        description="Only the fields sent change. Needs If-Match.",
        request=s.IncidentUpdateSerializer,
        parameters=[REF, IF_MATCH, ETAG],
        responses={
            200: s.IncidentDetailSerializer,
            **problems(
                *WRITE_PROBLEMS,
                409,
                412,
                428,
                d400="Invalid fields, or a malformed If-Match.",
                d409="An external reference names another incident.",
            ),
        },
    ),
)
class IncidentViewSet(TransitionActions, DraftActions, viewsets.GenericViewSet):
    queryset = Incident.objects.all()  # for the role check: view/add/change_incident
    lookup_url_kwarg = "ref"
    lookup_value_regex = "[^/]+"
    filter_backends = [QueryFilterBackend, StableOrderingFilter]
    filterset_class = IncidentFilter
    ordering_fields = ["started_at", "number", "severity", "status", "updated_at"]
    ordering = ["-started_at", "-number"]
    ordering_tiebreak = "-number"
    pagination_class = PagePagination
    keyset_pages = True

    def get_serializer_class(self) -> type[BaseSerializer]:
        by_action: dict[str | None, type[BaseSerializer]] = {
            "list": s.IncidentListSerializer,
            "create": s.IncidentCreateSerializer,
            "update": s.IncidentUpdateSerializer,
            "partial_update": s.IncidentUpdateSerializer,
            "resolve": s.ResolveSerializer,
            "postmortem_state": s.PostmortemStateSerializer,
            "duplicate_of": s.DuplicateOfSerializer,
            "draft_keep": DraftDecisionSerializer,
            "draft_discard": DraftDecisionSerializer,
        }
        return by_action.get(acting(self), s.IncidentDetailSerializer)

    def get_object(self) -> Incident:
        return incident_or_404(self.kwargs[self.lookup_url_kwarg])

    def handle_exception(self, exc: Exception) -> Response:
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
        data = s.IncidentDetailSerializer(incident, context=context).data
        response = Response(data, status=status)
        # The version alone leaves out the rows embedded here, whose writes do not bump it: the
        # digest of the data makes the ETag change with them, so If-None-Match may answer 304.
        response["ETag"] = versioned_etag(incident.version, data)
        return response

    def list(self, request: Request) -> Response:
        # Duplicates are left out, as on every list, unless the `duplicates` filter says.
        asked = "duplicates" in request.query_params
        incidents = self.filter_queryset(
            Incident.objects.all() if asked else Incident.objects.counted()
        )
        # The id finds each row's labels and references (and its search snippet).
        columns = [*s.IncidentListSerializer.values(), "id"]
        searched = search.is_searched(incidents)
        listed: LeanList | CappedList
        if searched:
            columns += [search.SEARCH_RANK]
            # An `ordering` asked for wins over the rank; either way counted only so far.
            ranked = not request.query_params.get("ordering")
            listed = search.search_results(
                incidents.values(*columns), count=incidents, ranked=ranked
            )
        else:
            listed = LeanList(incidents.values(*columns), count=incidents)
        page = self.paginate_queryset(listed)
        assert page is not None  # pagination_class is set
        rows = selectors.incident_labels_and_references(list(page))
        context = {}
        if searched:
            q = request.query_params.get("q", "")
            context["snippets"] = search.snippets([row["id"] for row in rows], q)
        return self.get_paginated_response(s.IncidentListSerializer.shape(rows, context))

    def retrieve(self, request: Request, ref: str) -> Response:
        return self._detail_response(ref)

    def create(self, request: Request) -> Response:
        serializer = s.IncidentCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        tags = pop_tags(fields)
        user = request_user(request)
        with transaction.atomic(), references_taken():
            incident = services.incident_create(created_by=user, **fields)
            set_tags(incident, tags, user)
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
        fields = dict(serializer.validated_data)
        tags = pop_tags(fields)
        user = request_user(request)
        try:
            if expected > s.MAX_ID:  # no version can match it: stale by definition
                raise services.StaleVersion(current_version=incident.version)
            with transaction.atomic(), references_taken():
                services.incident_update(
                    incident=incident, expected_version=expected, user=user, **fields
                )
                set_tags(incident, tags, user)
        except services.StaleVersion as stale:
            raise Problem(
                "The incident changed since you read it; read it again and reapply your change.",
                status_code=412,
                problem_type="precondition-failed",
                current_version=stale.current_version,
            ) from None
        return self._detail_response(incident.number)

    def destroy(self, request: Request, ref: str) -> Response:
        incident = self.get_object()
        user = request_user(request)
        # The same record the admin's delete leaves (who deleted which incident), written
        # with the deletion or not at all, as the admin does.
        with transaction.atomic():
            LogEntry.objects.log_actions(
                user_id=user.pk, queryset=[incident], action_flag=DELETION, single_object=True
            )
            services.incident_delete(incident=incident, user=user)
        return Response(status=204)
