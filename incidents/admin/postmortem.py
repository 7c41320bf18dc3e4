"""The admin of the post-mortem: the incident with its sections inline, and each kind of row.

Every save goes through incidents.postmortem.services, as on the page and over the API: Markdown
is rendered and checked the same way, history records who did it, and an incident saved here
bumps its version by compare-and-set, so an admin and an editor never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.http import request_user
from incidents.models import (
    ActionItem,
    Cause,
    Communication,
    Delivery,
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


class InlinePartsThroughServicesMixin:
    """Rows shown inline, saved and deleted by the row services.

    A changed row writes only the fields the admin changed, over the row as it is now, so an
    admin's edit of a title never undoes an editor ticking the item meanwhile.
    """

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Any],
        formset: BaseModelFormSet[MarkdownModel, Any],
        change: bool,
    ) -> None:
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.part_delete(row=obj, user=request_user(request))
        for obj in formset.new_objects:
            services.part_save(row=obj, user=request_user(request))
        for obj, fields in formset.changed_objects:
            services.part_save(row=obj, user=request_user(request), fields=fields)
        formset.save_m2m()


class PartsThroughServicesMixin(InlinePartsThroughServicesMixin):
    """Rows of the post-mortem saved and deleted by the row services."""

    def save_model(
        self, request: HttpRequest, obj: MarkdownModel, form: forms.ModelForm[Any], change: bool
    ) -> None:
        services.part_save(
            row=obj, user=request_user(request), fields=form.changed_data if change else None
        )

    def delete_model(self, request: HttpRequest, obj: MarkdownModel) -> None:
        services.part_delete(row=obj, user=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MarkdownModel]) -> None:
        for obj in queryset:
            services.part_delete(row=obj, user=request_user(request))


class IncidentAdminForm(forms.ModelForm):
    """Carries the version the admin opened, so a save on top of someone else's is refused
    beside the form instead of overwriting what they wrote."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Incident
        fields = [*sorted(services.INCIDENT_CREATE_FIELDS - {"creation_key"}), "authors"]

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


# What goes with an incident, in the words of its page and in its order: (one, several).
_GOES_WITH_IT: tuple[tuple[type[Any], str, str], ...] = (
    (TimelineEvent, "timeline event", "timeline events"),
    (StatusItem, "status line", "status lines"),
    (Cause, "cause", "causes"),
    (Lesson, "lesson", "lessons"),
    (ActionItem, "action item", "action items"),
    (PathPriority, "path forward priority", "path forward priorities"),
    (SolutionOption, "solution option", "solution options"),
    (SuccessCriterion, "success criterion", "success criteria"),
    (FinalNote, "final note", "final notes"),
    (Communication, "message (drafted, approved or sent)", "messages (drafted, approved or sent)"),
    (Delivery, "delivery of those messages", "deliveries of those messages"),
)


def deletion_counts(model_count: dict[str, int]) -> dict[str, int]:
    """Django's count per model of what a deletion takes, in plain words ("3 causes"), in the
    page's order. The incidents themselves are named apart; their authors (a link, not
    something anyone wrote) and anything else unknown keep Django's own names."""
    plain: dict[str, int] = {}
    known = {str(Incident._meta.verbose_name_plural)}
    for model, one, several in _GOES_WITH_IT:
        name = str(model._meta.verbose_name_plural)
        known.add(name)
        count = model_count.get(name, 0)
        if count:
            plain[one if count == 1 else several] = count
    authors = str(Incident.authors.through._meta.verbose_name_plural)
    for name, count in model_count.items():
        if name not in known and name != authors:
            plain[name] = count
    return plain


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


@admin.register(ActionItem)
class ActionItemAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
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
    list_display = ["title", "incident", "kind", "parent"]
    list_filter = ["kind"]
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
    list_display = ["label", "incident", "kind", "ok", "pre_existing"]
    list_filter = ["kind", "ok", "pre_existing"]
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


@admin.register(SolutionOption)
class SolutionOptionAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "priority", "estimate", "chosen"]
    list_filter = ["chosen"]
    search_fields = ["title", "detail", "priority__title"]
    list_select_related = ["priority"]
    raw_id_fields = ["priority"]
