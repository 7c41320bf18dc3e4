"""The webhook delivery log in the admin, read-only: written by the workers only. Endpoints
are in incidents.admin.communications; admins manage both on the Webhooks page too."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import WebhookAttempt, WebhookDelivery

_ATTEMPT_FIELDS = ("number", "started_at", "duration_ms", "status_code", "answer", "error")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = _ATTEMPT_FIELDS
    readonly_fields = _ATTEMPT_FIELDS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "endpoint", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["endpoint__name", "kind", "last_error"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "number", "status_code", "duration_ms", "started_at"]
    list_filter = ["status_code"]
    search_fields = ["answer", "error"]
    readonly_fields = [f.name for f in WebhookAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookAttempt | None = None
    ) -> bool:
        return False
