"""The incident's transitions over the API: resolve, the post-mortem's state, duplicates and
the status page. Mixed into IncidentViewSet, whose lookup (`ref`), role check and detail answer
they use; each is one click, with no If-Match (each leaves only the states it names)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import request_user
from api.problems import Problem
from incidents.models import Incident
from incidents.postmortem import services
from incidents.postmortem.api import serializers as s
from incidents.postmortem.api.views.common import (
    ETAG,
    READ_PROBLEMS,
    REF,
    WRITE_PROBLEMS,
    ChangeOnPost,
    problems,
)
from incidents.statuspage import services as statuspage

if TYPE_CHECKING:
    # What the mixin is mixed into, for the type checker; at run time it stays a plain mixin.
    _ViewSet = viewsets.GenericViewSet
else:
    _ViewSet = object

RACE = "Other requests kept moving the incident while this one was applied; read it again."


@contextmanager
def transition_races() -> Iterator[None]:
    """A transition that lost its race several times over is a 409, not a 500."""
    try:
        yield
    except services.StaleVersion as stale:
        raise Problem(
            RACE,
            status_code=409,
            problem_type="conflict",
            current_version=stale.current_version,
        ) from None


class TransitionActions(_ViewSet):
    """Mixed into IncidentViewSet (see the module's docstring)."""

    def _detail_response(self, reference: str | int, *, status: int = 200) -> Response:
        raise NotImplementedError  # IncidentViewSet's

    @extend_schema(
        summary="Resolve the incident",
        description=(
            "Sets the status to resolved and stamps resolved_at (the given time, or now), and "
            "writes it on the timeline. Resolving a resolved incident changes nothing."
        ),
        request=s.ResolveSerializer,
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*WRITE_PROBLEMS, 409, d409=RACE)},
    )
    @action(detail=True, methods=["post"], url_path="resolve", permission_classes=[ChangeOnPost])
    def resolve(self, request: Request, ref: str) -> Response:
        incident = self.get_object()
        serializer = s.ResolveSerializer(
            data=request.data, context={**self.get_serializer_context(), "incident": incident}
        )
        serializer.is_valid(raise_exception=True)
        with transition_races():
            services.incident_set_status(
                incident=incident,
                status=Incident.Status.RESOLVED,
                user=request_user(request),
                at=serializer.validated_data.get("resolved_at"),
            )
        return self._detail_response(incident.number)

    @extend_schema(
        summary="Move the post-mortem to draft, in review or published",
        request=s.PostmortemStateSerializer,
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*WRITE_PROBLEMS, 409, d409=RACE)},
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
        with transition_races():
            services.incident_set_postmortem_state(
                incident=incident,
                state=serializer.validated_data["state"],
                user=request_user(request),
            )
        return self._detail_response(incident.number)

    @extend_schema(
        summary="Mark the incident as a duplicate of another, or undo that",
        description=(
            "A duplicate is closed: linked to its original, and left out of lists, counts and "
            "the status page; its status and times stay as they were, so undoing it (null) "
            "gives it back as it was. A duplicate of a duplicate is linked to the original, "
            "and the incident's own duplicates move to the original with it. Both timelines "
            "get a line. Marking it again as a duplicate of the same incident changes nothing."
        ),
        request=s.DuplicateOfSerializer,
        parameters=[REF, ETAG],
        responses={
            200: s.IncidentDetailSerializer,
            **problems(
                *WRITE_PROBLEMS,
                409,
                d400="Not an incident's reference, or the incident itself (or one of its "
                "duplicates).",
                d409=RACE,
            ),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="duplicate-of",
        permission_classes=[ChangeOnPost],
    )
    def duplicate_of(self, request: Request, ref: str) -> Response:
        incident = self.get_object()
        serializer = s.DuplicateOfSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        original = serializer.validated_data["duplicate_of"]
        with transition_races():
            if original is None:
                services.incident_unmark_duplicate(incident=incident, user=request_user(request))
            else:
                services.incident_mark_duplicate(
                    incident=incident, original=original, user=request_user(request)
                )
        return self._detail_response(incident.number)

    @extend_schema(
        summary="Put the incident on the public status page",
        description=(
            "An incident is internal until the team makes it public: by publishing a status "
            "page update for it, or with this. It then shows on the status page and in the "
            'feeds, headed by its first published update, or "Disruption to <service>" '
            "before there is one, and stays there when its updates are withdrawn, until "
            "`unpublish`. Making a public incident public again keeps `public_since`."
        ),
        request=None,
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="publish", permission_classes=[ChangeOnPost])
    def publish(self, request: Request, ref: str) -> Response:
        statuspage.incident_publish(incident=self.get_object(), user=request_user(request))
        return self._detail_response(ref)

    @extend_schema(
        summary="Take the incident off the public status page",
        description=(
            "It leaves the status page and the feeds at once, whatever it has published; its "
            "updates stay on its record, and the next update published puts it back. "
            "Unpublishing an internal incident changes nothing."
        ),
        request=None,
        parameters=[REF, ETAG],
        responses={200: s.IncidentDetailSerializer, **problems(*READ_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="unpublish", permission_classes=[ChangeOnPost])
    def unpublish(self, request: Request, ref: str) -> Response:
        statuspage.incident_unpublish(incident=self.get_object(), user=request_user(request))
        return self._detail_response(ref)
