"""The admin of each kind of post-mortem row on its own page: timeline events, causes, lessons,
success criteria, status lines, final notes, and the path forward's priorities with their
solution options. Saved and deleted through the row services (_parts.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from incidents.admin._parts import PartsThroughServicesMixin
from incidents.models import (
    Cause,
    FinalNote,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.models.base import MarkdownModel


class SolutionOptionInline(admin.StackedInline):
    model = SolutionOption
    extra = 0
    fields = [("label", "title", "estimate", "chosen", "order"), "detail"]


@admin.register(PathPriority)
class PathPriorityAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["title", "incident", "urgent", "order"]
    list_select_related = ["incident"]
    search_fields = ["title", "incident__title"]
    raw_id_fields = ["incident"]
    inlines = [SolutionOptionInline]


@admin.register(TimelineEvent)
class TimelineEventAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["occurred_at", "incident", "kind", "source", "hidden"]
    list_filter = ["kind", "source", "hidden"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident", "deployment", "created_by"]
    # Who wrote a line is Hindsight's to say: a line cannot be made to pass for its record.
    readonly_fields = ["source"]

    def has_change_permission(self, request: HttpRequest, obj: TimelineEvent | None = None) -> bool:
        if obj is not None and obj.is_audit:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: TimelineEvent | None = None) -> bool:
        if obj is not None and obj.is_audit:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MarkdownModel]) -> None:
        lines = TimelineEvent.objects.filter(pk__in=queryset.values("pk"))
        kept = lines.exclude(source=TimelineEvent.Source.MANUAL).count()
        if kept:
            self.message_user(
                request,
                f"{kept} line(s) Hindsight wrote were kept: its record is never deleted.",
                messages.WARNING,
            )
        super().delete_queryset(request, lines.filter(source=TimelineEvent.Source.MANUAL))


@admin.register(Cause)
class CauseAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["title", "incident", "kind", "category", "parent"]
    list_filter = ["kind", "category"]
    search_fields = ["title", "detail", "incident__title"]
    list_select_related = ["incident", "parent"]
    raw_id_fields = ["incident", "parent", "deployment"]


@admin.register(Lesson)
class LessonAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "incident", "kind"]
    list_filter = ["kind"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(SuccessCriterion)
class SuccessCriterionAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["text", "incident", "group", "done"]
    list_filter = ["group", "done"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(StatusItem)
class StatusItemAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["label", "incident", "kind", "ok", "warning", "pre_existing"]
    list_filter = ["kind", "ok", "warning", "pre_existing"]
    search_fields = ["label", "detail", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(FinalNote)
class FinalNoteAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "incident", "kind"]
    list_filter = ["kind"]
    search_fields = ["text", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident"]


@admin.register(SolutionOption)
class SolutionOptionAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "priority", "estimate", "chosen"]
    list_filter = ["chosen"]
    search_fields = ["title", "detail", "priority__title"]
    list_select_related = ["priority"]
    raw_id_fields = ["priority"]
