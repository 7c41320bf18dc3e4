"""Response shapes for incident lists, built from `.values()` rows (api.reads.RowSerializer)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from api.reads import RowSerializer, Times
from incidents.insights.search import SEARCH_RANK, Snippet
from incidents.models import Incident, Severity
from incidents.models.incident import REFERENCE_PREFIX


class ServiceRefSerializer(serializers.Serializer):
    """Schema only: the service an incident belongs to, as IncidentListSerializer nests it."""

    slug = serializers.CharField()
    name = serializers.CharField()


class ExternalReferenceReadSerializer(serializers.Serializer):
    """Schema only: one of the incident's ids in another system."""

    # The metaclass takes declared fields off the class, so this does not shadow Field.source.
    source = serializers.CharField()  # type: ignore[assignment]
    key = serializers.CharField()
    url = serializers.CharField(help_text="A link to it there, or empty.")


class SearchMatchSerializer(serializers.Serializer):
    """Schema only: how a listed incident matched the list's `q`, as IncidentListSerializer
    nests it."""

    rank = serializers.FloatField(
        help_text="Where it matched: 1.0 in the title or status line, 0.5 elsewhere."
    )
    snippet = serializers.CharField(
        help_text="Plain text around the best matches (not HTML: escape it to show it)."
    )
    highlights = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2),
        help_text="Where the matches are in `snippet`: [start, end) character offsets.",
    )


class IncidentListSerializer(RowSerializer):
    """An incident in a list: its facts without the post-mortem's prose or sections."""

    # Made a reference by finish().
    reference = serializers.CharField(
        source="number", help_text="INC-<number>; addresses it in URLs."
    )
    number = serializers.IntegerField()
    title = serializers.CharField()
    service = ServiceRefSerializer()
    severity = serializers.ChoiceField(choices=Severity.choices)
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    postmortem_state = serializers.ChoiceField(choices=Incident.PostmortemState.choices)
    status_line = serializers.CharField()
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField(allow_null=True)
    mitigated_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    # Made a reference by finish().
    duplicate_of = serializers.CharField(
        source="duplicate_of.number",
        allow_null=True,
        help_text=(
            "The reference of the incident this one duplicates, or null. A duplicate is "
            "closed: left out of lists (unless asked for), counts and the status page."
        ),
    )
    # Made a bool by finish().
    public = serializers.BooleanField(
        source="public_since",
        help_text=(
            "On the public status page and in its feeds. An incident is internal until an "
            "update for it is published there, or it is made public (POST …/publish); a "
            "duplicate never is."
        ),
    )
    public_since = serializers.DateTimeField(
        allow_null=True, help_text="When it went on the status page; null while internal."
    )
    labels = serializers.ListField(source="*", child=serializers.CharField())
    external_references = ExternalReferenceReadSerializer(many=True, source="*")
    version = serializers.IntegerField(
        help_text='The version the ETag starts with ("7" of "7.3f9a..."); If-Match compares it.'
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    # Added by finish() to rows searched with `q` (incidents.insights.search), from the context's
    # "snippets" of the page.
    search = SearchMatchSerializer(
        allow_null=True, help_text="How it matched the list's `q`; null when there is none."
    )

    @classmethod
    def values(cls) -> list[str]:
        return [*super().values(), "service__slug", "service__name"]

    def finish(self, data: dict[str, Any], source: Any, times: Times) -> None:
        data["reference"] = f"{REFERENCE_PREFIX}{data['number']}"
        # A duplicate is never on the page, whatever it was before: its original tells it.
        data["public"] = data["public"] is not None and data["duplicate_of"] is None
        if data["duplicate_of"] is not None:
            data["duplicate_of"] = f"{REFERENCE_PREFIX}{data['duplicate_of']}"
        if isinstance(source, Incident):
            data["service"] = {"slug": source.service.slug, "name": source.service.name}
            data["labels"] = [label.name for label in source.labels.all()]
            data["external_references"] = [
                {"source": ref.source, "key": ref.key, "url": ref.url}
                for ref in source.external_references.all()
            ]
        else:
            data["service"] = {"slug": source["service__slug"], "name": source["service__name"]}
            # Added to the page's rows by incident_labels_and_references(), two queries a page.
            data["labels"] = source["labels"]
            data["external_references"] = source["external_references"]
        if "search" not in self._declared_fields:
            return  # the detail, which drops the field
        data["search"] = None
        if isinstance(source, dict) and SEARCH_RANK in source:
            found = self.context["snippets"].get(source["id"], Snippet(parts=()))
            data["search"] = {
                "rank": source[SEARCH_RANK],
                "snippet": found.text,
                "highlights": found.highlights,
            }
