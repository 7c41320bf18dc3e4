"""Attached files in the admin: listed and deleted, never added or changed here (a file comes
from the incident page, typed by its bytes)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from incidents.attachments.services import attachment_delete
from incidents.models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["name", "incident", "content_type", "size", "uploaded_by", "created_at"]
    list_filter = ["content_type"]
    list_select_related = ["incident", "uploaded_by"]
    search_fields = ["name", "sha256", "incident__title"]
    readonly_fields = [
        "incident",
        "timeline_event",
        "served_at",
        "name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "created_at",
    ]

    fields = tuple(readonly_fields)

    @admin.display(description="file")
    def served_at(self, obj: Attachment) -> str:
        # The app's own address, behind its login check; never the storage's (a bucket's
        # signed URL would hand the file to whoever holds the link).
        return format_html('<a href="{}">{}</a>', obj.path, obj.name)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Attachment) -> None:
        # Through the service, so the stored file goes with the row.
        attachment_delete(attachment=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Attachment]) -> None:
        for attachment in queryset:
            attachment_delete(attachment=attachment)
