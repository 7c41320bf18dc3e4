"""The incident detail: the incident with every section embedded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from api.reads import RowSerializer, Times
from incidents.communications.api.serializers import CommunicationSerializer
from incidents.models import (
    Incident,
)
from incidents.postmortem.api.serializers.read import IncidentListSerializer
from incidents.postmortem.api.serializers.rows import (
    ActionItemSerializer,
    CauseSerializer,
    FinalNoteSerializer,
    LessonSerializer,
    PathPrioritySerializer,
    StatusItemSerializer,
    SuccessCriterionSerializer,
    TimelineEventSerializer,
)


class IncidentDetailSerializer(IncidentListSerializer):
    """An incident with its whole post-mortem.

    The timeline holds the latest TIMELINE_EMBEDDED events in time order; `timeline_truncated`
    says whether there are older ones, and `timeline_url` lists them all (cursor-paginated).
    """

    # DRF drops a base class field set to None: a detail is not the answer to a search.
    search = None  # type: ignore[assignment]

    # Added by finish() after the list's fields, as `source="*"` says.
    summary = serializers.CharField(source="*", help_text="Markdown.")
    summary_html = serializers.CharField(source="*")
    impact = serializers.CharField(source="*", help_text="Markdown.")
    impact_html = serializers.CharField(source="*")
    resolution = serializers.CharField(source="*", help_text="Markdown.")
    resolution_html = serializers.CharField(source="*")
    next_step = serializers.CharField(source="*", help_text="Markdown.")
    next_step_html = serializers.CharField(source="*")
    proposed_prose = serializers.DictField(
        source="*",
        child=serializers.CharField(),
        help_text="Texts the draft from the facts proposed for empty fields (summary, impact, "
        "resolution), by field, until someone keeps or discards them.",
    )
    created_by = serializers.CharField(source="*", allow_null=True, help_text="A username.")
    authors = serializers.ListField(
        source="*", child=serializers.CharField(), help_text="Usernames."
    )
    timeline = TimelineEventSerializer(many=True)
    timeline_truncated = serializers.BooleanField(source="*")
    timeline_url = serializers.URLField(source="*")
    causes = CauseSerializer(many=True)
    lessons = LessonSerializer(many=True)
    action_items = ActionItemSerializer(many=True)
    success_criteria = SuccessCriterionSerializer(many=True)
    status_items = StatusItemSerializer(many=True)
    priorities = PathPrioritySerializer(many=True)
    final_notes = FinalNoteSerializer(many=True)
    communications = CommunicationSerializer(many=True, help_text="Newest first.")

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        super().finish(data, source, times)
        incident: Incident = source

        def rows(
            serializer_class: type[RowSerializer], items: Iterable[Any]
        ) -> list[dict[str, Any]]:
            serializer = serializer_class(context=self.context)
            return [serializer.shape_row(item, times) for item in items]

        data.update(
            {
                "summary": incident.summary,
                "summary_html": incident.summary_html,
                "impact": incident.impact,
                "impact_html": incident.impact_html,
                "resolution": incident.resolution,
                "resolution_html": incident.resolution_html,
                "next_step": incident.next_step,
                "next_step_html": incident.next_step_html,
                "proposed_prose": incident.proposed_prose,
                "created_by": incident.created_by.get_username() if incident.created_by else None,
                "authors": [user.get_username() for user in incident.authors.all()],
                # Set by the view: the latest events, and whether there are more.
                "timeline": rows(TimelineEventSerializer, incident.embedded_timeline),  # type: ignore[attr-defined]  # set by incident_document()
                "timeline_truncated": incident.timeline_truncated,  # type: ignore[attr-defined]  # as above
                "timeline_url": self.context["timeline_url"],
                "causes": rows(CauseSerializer, incident.causes.all()),
                "lessons": rows(LessonSerializer, incident.lessons.all()),
                "action_items": rows(ActionItemSerializer, incident.action_items.all()),
                "success_criteria": rows(
                    SuccessCriterionSerializer, incident.success_criteria.all()
                ),
                "status_items": rows(StatusItemSerializer, incident.status_items.all()),
                "priorities": rows(PathPrioritySerializer, incident.priorities.all()),
                "final_notes": rows(FinalNoteSerializer, incident.final_notes.all()),
                "communications": rows(CommunicationSerializer, incident.communications.all()),
            }
        )
