"""The admin of the post-mortem: the incident with its sections inline, and each kind of row."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

# Communications, their delivery log, webhook endpoints and the outbox: registered by importing
# their module, which keeps this one short.
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    ReferenceCounter,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel
from incidents.postmortem import services


class MarkdownAdminMixin:
    """Admin saves store rendered HTML too, as the services do; pages never render Markdown."""

    def save_model(self, request, obj, form, change) -> None:
        if isinstance(obj, MarkdownModel):
            obj.render_markdown()
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            if isinstance(obj, MarkdownModel):
                obj.render_markdown()
            obj.save()
        formset.save_m2m()


class TimelineEventInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    fields = ["occurred_at", "kind", "source", "text", "deployment"]
    raw_id_fields = ["deployment"]


class StatusItemInline(admin.TabularInline):
    model = StatusItem
    extra = 0
    fields = ["kind", "label", "detail", "ok", "pre_existing", "order"]


class CauseInline(admin.StackedInline):
    model = Cause
    extra = 0
    fields = [("kind", "order"), "title", "detail", ("parent", "deployment")]
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
class IncidentAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
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
    list_filter = ["status", "severity", "postmortem_state", "service"]
    search_fields = ["number", "title", "summary", "causes__title", "action_items__title"]
    list_select_related = ["service"]
    date_hierarchy = "started_at"
    filter_horizontal = ["authors"]
    readonly_fields = ["reference", "version", "duration", "created_by", "created_at", "updated_at"]
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
        ("Record", {"fields": ["authors", "created_by", "version", "created_at", "updated_at"]}),
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

    @admin.display(description="reference", ordering="number")
    def reference(self, obj: Incident) -> str:
        return obj.reference

    def save_model(self, request, obj, form, change) -> None:
        if change:
            # An admin save is a write like any other: bump the version so an editor holding
            # the old one gets a conflict instead of overwriting this change.
            current = (
                Incident.objects.select_for_update()
                .values_list("version", flat=True)
                .get(pk=obj.pk)
            )
            obj.version = current + 1
        else:
            obj.number = services.incident_number_next()
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class SolutionOptionInline(admin.StackedInline):
    model = SolutionOption
    extra = 0
    fields = [("label", "title", "estimate", "chosen", "order"), "detail"]


@admin.register(PathPriority)
class PathPriorityAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["title", "incident", "urgent", "order"]
    list_select_related = ["incident"]
    search_fields = ["title", "incident__title"]
    raw_id_fields = ["incident"]
    inlines = [SolutionOptionInline]


@admin.register(ActionItem)
class ActionItemAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "title",
        "incident",
        "status",
        "priority",
        "horizon",
        "owner",
        "due_date",
        "blocks_deployments",
    ]
    list_filter = ["status", "priority", "horizon", "kind", "blocks_deployments"]
    search_fields = ["title", "detail", "incident__title"]
    list_select_related = ["incident", "owner"]
    raw_id_fields = ["incident", "parent", "owner", "done_by"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["occurred_at", "incident", "kind", "source"]
    list_filter = ["kind", "source"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident", "deployment", "created_by"]


@admin.register(Cause)
class CauseAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["title", "incident", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["title", "detail", "incident__title"]
    list_select_related = ["incident", "parent"]
    raw_id_fields = ["incident", "parent", "deployment"]


@admin.register(Lesson)
class LessonAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "incident", "kind"]
    list_filter = ["kind"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(SuccessCriterion)
class SuccessCriterionAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["text", "incident", "group", "done"]
    list_filter = ["group", "done"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(StatusItem)
class StatusItemAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["label", "incident", "kind", "ok", "pre_existing"]
    list_filter = ["kind", "ok", "pre_existing"]
    search_fields = ["label", "detail", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(FinalNote)
class FinalNoteAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "incident", "kind"]
    list_filter = ["kind"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(admin.ModelAdmin):
    """Visible for support; numbers are handed out only by incident_create."""

    list_display = ["name", "value"]
    readonly_fields = ["name", "value"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SolutionOption)
class SolutionOptionAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "priority", "estimate", "chosen"]
    list_filter = ["chosen"]
    search_fields = ["title", "detail", "priority__title"]
    list_select_related = ["priority"]
    raw_id_fields = ["priority"]
