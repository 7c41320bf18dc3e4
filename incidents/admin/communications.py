"""The admin of communications: templates, communications, the delivery log and webhook
endpoints. Imported by incidents/admin.py, which registers everything else."""

from __future__ import annotations

import secrets

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from incidents.communications.forms import CommunicationTemplateForm, WebhookEndpointForm
from incidents.models import (
    Communication,
    CommunicationTemplate,
    Delivery,
    WebhookEndpoint,
)
from incidents.models.base import MarkdownModel


def webhook_secret_new() -> str:
    return secrets.token_urlsafe(32)


class MarkdownAdminMixin:
    """Admin saves store the rendered HTML too, as the services do."""

    def save_model(self, request, obj, form, change) -> None:
        if isinstance(obj, MarkdownModel):
            obj.render_markdown()
        super().save_model(request, obj, form, change)


@admin.register(CommunicationTemplate)
class CommunicationTemplateAdmin(admin.ModelAdmin):
    """The same form and checks as the template pages: a template that would fail to generate
    a draft is refused here, at save."""

    form = CommunicationTemplateForm
    list_display = ["name", "slug", "audience", "phase", "updated_at"]
    list_filter = ["audience", "phase"]
    search_fields = ["name", "slug", "subject_template", "body_template"]
    prepopulated_fields = {"slug": ["name"]}


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["channel", "recipient", "status", "attempts", "last_error", "sent_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Communication)
class CommunicationAdmin(MarkdownAdminMixin, SimpleHistoryAdmin):
    """Drafts can be corrected here; a sent communication is read-only, as everywhere."""

    list_display = ["subject", "incident", "audience", "phase", "status", "sent_at"]
    list_filter = ["status", "audience", "phase"]
    search_fields = ["subject", "body", "incident__title"]
    list_select_related = ["incident"]
    raw_id_fields = ["incident", "template", "corrects", "created_by", "approved_by"]
    readonly_fields = ["status", "approved_by", "approved_at", "sent_at", "created_at"]
    inlines = [DeliveryInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == Communication.Status.SENT:
            return [field.name for field in obj._meta.fields if field.editable]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status == Communication.Status.SENT:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: written by the workers only."""

    list_display = ["recipient", "channel", "status", "attempts", "communication", "sent_at"]
    list_filter = ["status", "channel"]
    search_fields = ["recipient", "communication__subject"]
    list_select_related = ["communication"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Hindsight generates each endpoint's signing secret and shows it once, on the page after
    saving a new endpoint (or after "Generate a new secret"); the admin never shows it again."""

    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    actions = ["rotate_secret"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.secret = webhook_secret_new()
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    def _show_secret(self, request, obj: WebhookEndpoint) -> None:
        self.message_user(
            request,
            f"The signing secret of “{obj.name}” is {obj.secret} . Copy it now: it is not shown "
            "again. Verify X-Hindsight-Signature as sha256=HMAC-SHA256(secret, "
            "timestamp + '.' + body).",
            messages.WARNING,
        )

    @admin.action(description="Generate a new secret (shown once)")
    def rotate_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint.secret = webhook_secret_new()
            endpoint.save(update_fields=["secret"])
            self._show_secret(request, endpoint)
