from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Visible for support: what waits for the broker, and why it did not go yet."""

    list_display = ["task", "created_at", "published_at", "attempts", "last_error"]
    list_filter = ["task", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["task", "last_error"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False
