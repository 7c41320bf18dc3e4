"""The admin of what every app shares: people's preferences, and the admin's own log.

The log is Django's, written for every save and deletion made in the admin, deleted incidents
included (their reference and title are the entry's text). Read-only: a log that can be edited
proves nothing.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.http import HttpRequest

from core.models import Profile


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["action_time", "user", "action_flag", "content_type", "object_repr", "change"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "user__username"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"

    @admin.display(description="change")
    def change(self, obj: LogEntry) -> str:
        return obj.get_change_message()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LogEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LogEntry | None = None) -> bool:
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
