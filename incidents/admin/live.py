"""The live marks, listed for looking only: open pages write and read them (incidents.live)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import LiveMark


@admin.register(LiveMark)
class LiveMarkAdmin(admin.ModelAdmin):
    """What each open incident page last learnt changed. Written after each write commits, by
    the services; editing one here would only make open pages fetch a part again, or miss one."""

    list_display = ["incident", "part", "serial", "changed_by", "changed_at"]
    search_fields = ["part", "changed_by"]
    list_select_related = ["incident"]
    readonly_fields = ["incident", "number", "part", "serial", "changed_by", "changed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LiveMark | None = None) -> bool:
        return False
