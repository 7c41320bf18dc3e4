"""The reminder emails' claims, listed for looking only (incidents.insights.reminders)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import Reminder, ReminderRun


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """Who was reminded of what, when, and whether it went out. A row is the claim that keeps a
    reminder from going twice: adding or editing one here would send one too many, or none."""

    list_display = ["person", "kind", "period", "status", "listed", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["person__username", "person__email"]
    list_select_related = ["person"]
    date_hierarchy = "period"
    readonly_fields = [
        "person",
        "kind",
        "period",
        "status",
        "created_at",
        "sent_at",
        "listed",
        "attempts",
        "last_error",
        "claimed_by",
        "lease_until",
        "next_attempt_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Reminder | None = None) -> bool:
        return False


@admin.register(ReminderRun)
class ReminderRunAdmin(admin.ModelAdmin):
    """How far the hourly reminders task has looked: a covered_until far behind now says the beat
    or its workers are down. Moving it by hand would skip a day's digests or send them late."""

    list_display = ["__str__", "covered_until"]
    readonly_fields = ["covered_until"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReminderRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReminderRun | None = None) -> bool:
        return False
