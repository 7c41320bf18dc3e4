"""Shapes of the document endpoints: the import request and answer, and (for the schema) the
JSON export, schema "hindsight.postmortem/v1" (incidents.documents.export_json)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import StrictCharField, StrictSerializer
from incidents.models import (
    ActionItem,
    Audience,
    Cause,
    Communication,
    FinalNote,
    Horizon,
    Incident,
    Lesson,
    Phase,
    Severity,
    StatusItem,
    TimelineEvent,
)


def _choice(choices: Sequence[tuple[str, str]], **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, **kwargs)


def _named_values(choices: Sequence[tuple[str, str]], **kwargs: Any) -> serializers.CharField:
    """A value of a choice set, listed in the description instead of as an enum. For the few
    sets with no fixed name (ENUM_NAME_OVERRIDES) under a property name other sets share
    ("kind", "source", "status"): a second user of such an enum makes drf-spectacular rename it
    by a hash, and these shapes only document the export."""
    values = ", ".join(f"`{value}`" for value, _label in choices)
    field_class = extend_schema_field({"type": "string", "description": f"One of {values}."})(
        type("NamedValuesField", (serializers.CharField,), {})
    )
    return field_class(**kwargs)


class ImportRequestSerializer(StrictSerializer):
    markdown = StrictCharField(
        trim_whitespace=False,
        help_text="The post-mortem as Markdown, up to 1 MB (UTF-8).",
    )
    service = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Slug of an existing service; by default the one the document names.",
    )
    title = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="The incident's title; needed when the document has no '# ' heading.",
    )


class UnrecognizedSerializer(serializers.Serializer):
    where = serializers.CharField(help_text="The headings it sat under.")
    text = serializers.CharField(help_text="Kept verbatim as an `other` final note.")


class ImportReportSerializer(serializers.Serializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Items mapped, per section."
    )
    unrecognized = UnrecognizedSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    unknown_owners = serializers.ListField(
        child=serializers.CharField(),
        help_text="Owners with no Hindsight user; kept readable in their items' detail.",
    )


class ImportPreviewSerializer(serializers.Serializer):
    title = serializers.CharField()
    service = serializers.CharField(help_text="The service's slug (a new one with a dry run).")
    new_service = serializers.BooleanField(help_text="Whether the service would be created.")
    severity = _choice(Severity.choices)
    status = _choice(Incident.Status.choices)
    started_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    duplicate_of = serializers.CharField(
        allow_null=True,
        help_text="The incident this document looks imported as already (the same text, or "
        "the same service and start); importing it answers 409 unless `force=true`.",
    )


class ImportResultSerializer(serializers.Serializer):
    reference = serializers.CharField(
        allow_null=True, help_text="The new incident, e.g. INC-7; null for a dry run."
    )
    url = serializers.URLField(allow_null=True, help_text="The new incident in the API.")
    dry_run = serializers.BooleanField()
    preview = ImportPreviewSerializer()
    report = ImportReportSerializer()


# --- The JSON export, for the schema ---------------------------------------------------------


class _UserName(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, help_text="A username.", **kwargs)


class ExportDeploymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()


class ExportServiceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ExportIncidentSerializer(serializers.Serializer):
    reference = serializers.CharField()
    number = serializers.IntegerField()
    title = serializers.CharField()
    service = ExportServiceSerializer()
    severity = _choice(Severity.choices)
    status = _choice(Incident.Status.choices)
    postmortem_state = _choice(Incident.PostmortemState.choices)
    status_line = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField(allow_null=True)
    mitigated_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(allow_null=True)
    duplicate_of = serializers.CharField(
        allow_null=True, help_text="The reference of the incident this one duplicates, or null."
    )
    public_since = serializers.DateTimeField(
        allow_null=True, help_text="When it went on the public status page; null while internal."
    )
    public_by = _UserName()
    public_marked = serializers.BooleanField(
        help_text="Made public by hand: it stays public when its updates are withdrawn."
    )
    summary = serializers.CharField(allow_blank=True, help_text="Markdown.")
    impact = serializers.CharField(allow_blank=True, help_text="Markdown.")
    resolution = serializers.CharField(allow_blank=True, help_text="Markdown.")
    next_step = serializers.CharField(allow_blank=True, help_text="Markdown.")
    authors = serializers.ListField(child=serializers.CharField())
    created_by = _UserName()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField()


class ExportEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = _choice(TimelineEvent.Kind.choices)
    source = _named_values(TimelineEvent.Source.choices)  # type: ignore[assignment]  # a declared field, not Field.source
    text = serializers.CharField()
    deployment = ExportDeploymentSerializer(allow_null=True)
    created_by = _UserName()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportStatusItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = _named_values(StatusItem.Kind.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    detail = serializers.CharField(allow_blank=True)
    ok = serializers.BooleanField(allow_null=True)
    warning = serializers.BooleanField(help_text="Needs attention: neither healthy nor failing.")
    pre_existing = serializers.BooleanField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportCauseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True, help_text="The cause it is nested under.")  # type: ignore[assignment]  # a declared field, not Field.parent
    kind = _choice(Cause.Kind.choices)
    category = _choice(
        Cause.Category.choices, allow_blank=True, help_text="Empty: not categorised."
    )
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    order = serializers.IntegerField()
    deployment = ExportDeploymentSerializer(allow_null=True)
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportLessonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = _choice(Lesson.Kind.choices)
    text = serializers.CharField()
    order = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportActionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True, help_text="The item it is a step of.")  # type: ignore[assignment]  # a declared field, not Field.parent
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    status = _choice(ActionItem.Status.choices)
    priority = _choice(ActionItem.Priority.choices)
    kind = _choice(ActionItem.Kind.choices)
    horizon = _choice(Horizon.choices)
    owner = _UserName()
    due_date = serializers.DateField(allow_null=True)
    blocks_deployments = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    done_by = _UserName()
    closed_reason = serializers.CharField(
        allow_blank=True, help_text="Why it will not be done: set with wont_do, else empty."
    )
    order = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportCriterionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group = _choice(Horizon.choices)
    text = serializers.CharField()
    done = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportOptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    title = serializers.CharField()
    estimate = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    chosen = serializers.BooleanField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportPrioritySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    urgent = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)
    order = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")
    options = ExportOptionSerializer(many=True)


class ExportCommunicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    audience = _choice(Audience.choices)
    phase = _named_values([("", ""), *Phase.choices], allow_blank=True)
    status = _named_values(Communication.Status.choices)
    subject = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    template = serializers.CharField(allow_null=True, help_text="The template's slug.")
    corrects = serializers.IntegerField(allow_null=True)
    created_by = _UserName()
    approved_by = _UserName()
    approved_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    retracted_at = serializers.DateTimeField(allow_null=True)
    retracted_by = _UserName()
    retraction_reason = serializers.CharField(allow_blank=True)
    facts = serializers.DictField(
        help_text="The facts a generated draft stated (started_at, ended_at, duration, "
        "components); empty for one written by hand."
    )


class ExportNoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = _named_values(FinalNote.Kind.choices)
    text = serializers.CharField()
    order = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The row's version: its ETag in the API.")


class ExportAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField(help_text="Read from the file's bytes.")
    size = serializers.IntegerField(help_text="In bytes.")
    sha256 = serializers.CharField()
    url = serializers.CharField(help_text="Where Hindsight serves it; the texts link here.")
    file = serializers.CharField(help_text="Where it lies in the export with files (the zip).")
    timeline_event = serializers.IntegerField(
        allow_null=True, help_text="The id of the timeline event it was dropped onto."
    )
    uploaded_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class PostmortemExportSerializer(serializers.Serializer):
    """Schema hindsight.postmortem/v1: the incident and every part of it."""

    schema = serializers.ChoiceField(choices=["hindsight.postmortem/v1"])
    exported_at = serializers.DateTimeField()
    incident = ExportIncidentSerializer()
    timeline = ExportEventSerializer(many=True)
    status_items = ExportStatusItemSerializer(many=True)
    causes = ExportCauseSerializer(many=True)
    lessons = ExportLessonSerializer(many=True)
    action_items = ExportActionItemSerializer(many=True)
    success_criteria = ExportCriterionSerializer(many=True)
    path_forward = ExportPrioritySerializer(many=True)
    communications = ExportCommunicationSerializer(many=True)
    final_notes = ExportNoteSerializer(many=True)
    attachments = ExportAttachmentSerializer(many=True)
