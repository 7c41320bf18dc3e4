"""The admin of the post-mortem: the incident with its sections inline, and its reference
counter. Each kind of row has its own admin in rows.py, action items in action_items.py.

Every save goes through incidents.postmortem.services, as on the page and over the API: Markdown
is rendered and checked the same way, history records who did it, and an incident saved here
bumps its version by compare-and-set, so an admin and an editor never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.http import request_user
from incidents.admin._parts import InlinePartsThroughServicesMixin
from incidents.admin.deletion import deletion_counts
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    ReferenceCounter,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services


class IncidentAdminForm(forms.ModelForm):
    """Carries the version the admin opened, so a save on top of someone else's is refused
    beside the form instead of overwriting what they wrote."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Incident
        fields = [
            *sorted(services.INCIDENT_CREATE_FIELDS - {"creation_key", "import_digest"}),
            "authors",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.instance.pk:
            current = (
                Incident.objects.filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if data.get("seen_version") != current:
                raise forms.ValidationError(
                    "Someone changed this incident since you opened it. Open it again to see "
                    "their change, then make yours."
                )
        return data


class TimelineEventInline(admin.TabularInline):
    """The lines people wrote. Hindsight's own lines (status changes, deployments, health,
    messages sent) are its record and are edited by nobody: they are listed, read-only, under
    Timeline events."""

    model = TimelineEvent
    extra = 0
    fields = ["occurred_at", "kind", "text", "deployment", "hidden"]
    raw_id_fields = ["deployment"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TimelineEvent]:
        return super().get_queryset(request).filter(source=TimelineEvent.Source.MANUAL)


class StatusItemInline(admin.TabularInline):
    model = StatusItem
    extra = 0
    fields = ["kind", "label", "detail", "ok", "warning", "pre_existing", "order"]


class CauseInline(admin.StackedInline):
    model = Cause
    extra = 0
    fields = [("kind", "category", "order"), "title", "detail", ("parent", "deployment")]
    raw_id_fields = ["parent", "deployment"]


class LessonInline(admin.TabularInline):
    model = Lesson
    extra = 0
    fields = ["kind", "text", "order"]


class ActionItemInline(admin.StackedInline):
    model = ActionItem
    extra = 0
    fields = [
        ("title", "order"),
        ("status", "priority", "kind", "horizon"),
        ("owner", "due_date", "blocks_deployments"),
        "detail",
        ("parent", "done_at", "done_by"),
    ]
    raw_id_fields = ["parent", "owner", "done_by"]


class SuccessCriterionInline(admin.TabularInline):
    model = SuccessCriterion
    extra = 0
    fields = ["group", "text", "done", "done_at", "order"]


class PathPriorityInline(admin.StackedInline):
    model = PathPriority
    extra = 0
    fields = [("title", "urgent", "order"), "detail"]
    show_change_link = True  # its solution options are edited on the priority's own page


class FinalNoteInline(admin.TabularInline):
    model = FinalNote
    extra = 0
    fields = ["kind", "text", "order"]


@admin.register(Incident)
class IncidentAdmin(InlinePartsThroughServicesMixin, SimpleHistoryAdmin):
    form = IncidentAdminForm
    list_display = [
        "reference",
        "title",
        "service",
        "severity",
        "status",
        "postmortem_state",
        "started_at",
    ]
    list_display_links = ["reference", "title"]
    list_filter = [
        "status",
        "severity",
        "postmortem_state",
        ("public_since", admin.EmptyFieldListFilter),
        "service",
    ]
    search_fields = ["number", "title", "summary", "causes__title", "action_items__title"]
    list_select_related = ["service"]
    date_hierarchy = "started_at"
    filter_horizontal = ["authors"]
    readonly_fields = [
        "reference",
        "duplicate_of",
        "public_since",
        "public_by",
        "public_marked",
        "version",
        "duration",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "service",
                    "title",
                    ("severity", "status", "postmortem_state"),
                    "status_line",
                    # Set and undone on the incident page, which writes both timelines.
                    "duplicate_of",
                    # Likewise: the incident page (or the API) makes it public or internal.
                    ("public_since", "public_by", "public_marked"),
                ]
            },
        ),
        (
            "Times",
            {
                "fields": [
                    ("started_at", "detected_at"),
                    ("mitigated_at", "resolved_at"),
                    "duration",
                ]
            },
        ),
        ("The document", {"fields": ["impact", "summary", "resolution", "next_step"]}),
        (
            "Record",
            {
                "fields": [
                    "authors",
                    "created_by",
                    "version",
                    "created_at",
                    "updated_at",
                    "seen_version",
                ]
            },
        ),
    ]
    inlines = [
        TimelineEventInline,
        StatusItemInline,
        CauseInline,
        LessonInline,
        ActionItemInline,
        SuccessCriterionInline,
        PathPriorityInline,
        FinalNoteInline,
    ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Incident | None = None
    ) -> list[str] | tuple[str, ...]:
        # Status and post-mortem state move by their transitions on the incident page, which
        # write the timeline and keep the times that go with them.
        if obj is not None:
            return [*self.readonly_fields, "status", "postmortem_state"]
        return list(self.readonly_fields)

    @admin.display(description="reference", ordering="number")
    def reference(self, obj: Incident) -> str:
        return obj.reference

    def save_model(
        self, request: HttpRequest, obj: Incident, form: forms.ModelForm[Incident], change: bool
    ) -> None:
        if change:
            services.incident_update(
                incident=Incident.objects.get(pk=obj.pk),
                expected_version=form.cleaned_data["seen_version"],
                user=request_user(request),
                **{
                    name: form.cleaned_data[name]
                    for name in form.changed_data
                    if name in services.EDITABLE_INCIDENT_FIELDS
                },
            )
        else:
            created = services.incident_create(
                created_by=request_user(request),
                **{
                    name: value
                    for name, value in form.cleaned_data.items()
                    if name in services.INCIDENT_CREATE_FIELDS
                },
            )
            obj.pk = created.pk
        # The inlines and the authors are saved next, against the row as stored.
        obj.refresh_from_db()

    # Both name what goes with the incident in plain words, and say the deletion is logged.
    delete_confirmation_template = "admin/incidents/incident/delete_confirmation.html"
    delete_selected_confirmation_template = (
        "admin/incidents/incident/delete_selected_confirmation.html"
    )

    def get_deleted_objects(
        self, objs: Sequence[Incident] | QuerySet[Incident], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A sent message cannot be deleted on its own (it is the record of what was said), but
        # it goes with its incident, which the confirmation says; the role still needs the
        # permission to delete messages at all.
        if request.user.has_perm("incidents.delete_communication"):
            perms_needed.discard(str(Communication._meta.verbose_name))
        # Likewise the lines Hindsight wrote on its timeline: never deleted on their own, they
        # go with the incident they record.
        if request.user.has_perm("incidents.delete_timelineevent"):
            perms_needed.discard(str(TimelineEvent._meta.verbose_name))
        return deleted, deletion_counts(model_count), perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Incident) -> None:
        # incident_delete records the admin on the history's last state of the incident; the
        # admin's own log (LogEntry) is written by Django before this is called.
        services.incident_delete(incident=obj, user=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for obj in queryset:
            services.incident_delete(incident=obj, user=request_user(request))


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(admin.ModelAdmin):
    """Visible for support; numbers are handed out only by incident_create."""

    list_display = ["name", "value"]
    readonly_fields = ["name", "value"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ReferenceCounter | None = None
    ) -> bool:
        return False
