"""The draft from the facts (incidents.drafting) in the API: actions on the incident (POST
/incidents/{ref}/draft, .../draft/keep, .../draft/discard), mixed into the incident viewset."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.permissions import request_user
from incidents.drafting import services
from incidents.drafting.facts import PROSE
from incidents.models import Incident
from incidents.postmortem.api.views.common import (
    REF,
    WRITE_PROBLEMS,
    ChangeOnPost,
    incident_or_404,
    problems,
)


class DraftDecisionSerializer(serializers.Serializer):
    """Which proposals to keep or discard: `all`, or ids and field names."""

    all = serializers.BooleanField(default=False, help_text="Every proposal of the incident.")
    timeline_events = serializers.ListField(
        child=serializers.IntegerField(min_value=1), default=list, help_text="Timeline event ids."
    )
    causes = serializers.ListField(
        child=serializers.IntegerField(min_value=1), default=list, help_text="Cause ids."
    )
    prose = serializers.ListField(
        child=serializers.ChoiceField(choices=PROSE),
        default=list,
        help_text="Fields whose proposed text to keep or discard.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = attrs["timeline_events"] or attrs["causes"] or attrs["prose"]
        if attrs["all"] == bool(named):
            raise serializers.ValidationError(
                "Send either `all: true` or the proposals to decide on, not both or neither."
            )
        return attrs


_PROPOSED = inline_serializer(
    "DraftProposed",
    {
        "timeline_events": serializers.IntegerField(),
        "causes": serializers.IntegerField(),
        "prose": serializers.ListField(child=serializers.CharField()),
    },
)
_DECIDED = inline_serializer("DraftDecided", {"count": serializers.IntegerField()})
_SECTIONS = {"timeline_events": "timeline", "causes": "causes"}


def _decide(incident: Incident, data: dict[str, Any], request: Request, *, keep: bool) -> int:
    user = request_user(request)
    if data["all"]:
        act_all = services.proposals_keep_all if keep else services.proposals_discard_all
        return act_all(incident=incident, user=user)
    count = 0
    with transaction.atomic():
        for name, key in _SECTIONS.items():
            model = services.PROPOSED_MODELS[key]
            for row in services.rows_of(model).filter(incident=incident, pk__in=data[name]):
                act = services.proposal_keep if keep else services.proposal_discard
                count += act(row=row, user=user)
        for field in data["prose"]:
            act_text = services.proposed_text_keep if keep else services.proposed_text_discard
            count += act_text(incident=incident, field=field, user=user)
    return count


class DraftActions:
    """Mixed into IncidentViewSet: its lookup (`ref`) and role check apply."""

    @extend_schema(
        summary="Propose a first draft of the post-mortem from the facts",
        description=(
            "Adds, marked `proposed`, timeline events for the status changes (declared, "
            "detected, mitigated, resolved), the suspect deployment and any rollback, the first "
            "health failure and the recovery, and the messages sent; the suspect deployment as "
            "a trigger cause; and texts for the summary (duration), impact (impact window) and "
            "resolution (the rollback) where those are empty, in `proposed_prose`. Facts a row "
            "already tells, proposed or kept, are skipped: calling it twice proposes nothing "
            "twice; so are facts whose proposal was discarded before. Proposals are left out of "
            "exports until kept."
        ),
        request=None,
        parameters=[REF],
        responses={200: _PROPOSED, **problems(*WRITE_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="draft", permission_classes=[ChangeOnPost])
    def draft(self, request: Request, ref: str) -> Response:
        proposed = services.postmortem_draft_propose(
            incident=incident_or_404(ref), user=request_user(request)
        )
        return Response(
            {
                "timeline_events": proposed.events,
                "causes": proposed.causes,
                "prose": list(proposed.prose),
            }
        )

    @extend_schema(
        summary="Keep proposals of the draft",
        description="A kept row is an ordinary row; a kept text is written into its field if "
        "that is still empty. `count` is how many were kept.",
        request=DraftDecisionSerializer,
        parameters=[REF],
        responses={200: _DECIDED, **problems(*WRITE_PROBLEMS)},
    )
    @action(detail=True, methods=["post"], url_path="draft/keep", permission_classes=[ChangeOnPost])
    def draft_keep(self, request: Request, ref: str) -> Response:
        return self._draft_decide(request, ref, keep=True)

    @extend_schema(
        summary="Discard proposals of the draft",
        description="Deletes proposed rows and texts; kept rows are never touched. What was "
        "discarded is remembered: proposing the draft again leaves it out. `count` is how many "
        "were discarded.",
        request=DraftDecisionSerializer,
        parameters=[REF],
        responses={200: _DECIDED, **problems(*WRITE_PROBLEMS)},
    )
    @action(
        detail=True, methods=["post"], url_path="draft/discard", permission_classes=[ChangeOnPost]
    )
    def draft_discard(self, request: Request, ref: str) -> Response:
        return self._draft_decide(request, ref, keep=False)

    def _draft_decide(self, request: Request, ref: str, *, keep: bool) -> Response:
        incident = incident_or_404(ref)
        serializer = DraftDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"count": _decide(incident, serializer.validated_data, request, keep=keep)})
