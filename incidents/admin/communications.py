"""The admin of communications: templates, communications, the delivery log and webhook
endpoints. Every save goes through incidents.communications.services, as on the pages."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from core.http import request_user
from incidents.communications import services
from incidents.communications.forms import CommunicationTemplateForm
from incidents.models import (
    Communication,
    CommunicationComponent,
    CommunicationTemplate,
    Delivery,
    WebhookEndpoint,
)
from incidents.webhooks.forms import WebhookEndpointForm


@admin.register(CommunicationTemplate)
class CommunicationTemplateAdmin(admin.ModelAdmin):
    """The same form and checks as the template pages: a template that would fail to generate
    a draft is refused here, at save."""

    form = CommunicationTemplateForm
    list_display = ["name", "slug", "audience", "phase", "updated_at"]
    list_filter = ["audience", "phase"]
    search_fields = ["name", "slug", "subject_template", "body_template"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(
        self,
        request: HttpRequest,
        obj: CommunicationTemplate,
        form: forms.ModelForm[CommunicationTemplate],
        change: bool,
    ) -> None:
        services.communication_template_save(template=obj)


_DELIVERY_FIELDS = ("channel", "recipient", "status", "attempts", "last_error", "sent_at")


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = _DELIVERY_FIELDS
    readonly_fields = _DELIVERY_FIELDS
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Communication | None = None) -> bool:
        return False


@admin.register(Communication)
class CommunicationAdmin(SimpleHistoryAdmin):
    """A draft's text can be corrected here and a draft discarded, as on the incident page; a
    sent communication is read-only, as everywhere. Drafts are made from a template on the
    incident page or over the API, never here."""

    list_display = ["subject", "incident", "audience", "phase", "status", "sent_at"]
    list_filter = ["status", "audience", "phase"]
    search_fields = ["subject", "body", "incident__title"]
    list_select_related = ["incident"]
    fields = [
        "incident",
        "template",
        ("audience", "phase", "status"),
        "subject",
        "body",
        "corrects",
        ("created_by", "approved_by"),
        ("approved_at", "sent_at", "created_at"),
    ]
    readonly_fields = [
        "incident",
        "template",
        "audience",
        "phase",
        "status",
        "corrects",
        "created_by",
        "approved_by",
        "approved_at",
        "sent_at",
        "created_at",
    ]
    inlines = [DeliveryInline]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Communication | None = None
    ) -> list[str] | tuple[str, ...]:
        if obj is not None and obj.status == Communication.Status.SENT:
            return [*self.readonly_fields, "subject", "body"]
        return self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Communication | None = None) -> bool:
        if obj is not None and obj.status == Communication.Status.SENT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(
        self,
        request: HttpRequest,
        obj: Communication,
        form: forms.ModelForm[Communication],
        change: bool,
    ) -> None:
        # A draft sent meanwhile is refused by the service (CommunicationStateError), and the
        # whole admin save with it.
        services.communication_update(
            communication=Communication.objects.get(pk=obj.pk),
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            user=request_user(request),
        )

    def delete_model(self, request: HttpRequest, obj: Communication) -> None:
        services.communication_discard(communication=obj, user=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Communication]) -> None:
        for obj in queryset:
            services.communication_discard(communication=obj, user=request_user(request))


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: written by the workers only."""

    list_display = [
        "recipient",
        "channel",
        "status",
        "attempts",
        "communication",
        "maintenance",
        "notice",
        "sent_at",
    ]
    list_filter = ["status", "channel", "notice"]
    search_fields = ["recipient", "communication__subject", "maintenance__title"]
    list_select_related = ["communication", "maintenance"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False


@admin.register(CommunicationComponent)
class CommunicationComponentAdmin(admin.ModelAdmin):
    """Which components a status page update names, and the status it gives each: written by
    communication_components_set (the draft's form and the API) only, so read-only here."""

    list_display = ["communication", "component", "status"]
    list_filter = ["status"]
    search_fields = ["communication__subject", "component__name"]
    list_select_related = ["communication", "component"]
    readonly_fields = [f.name for f in CommunicationComponent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: CommunicationComponent | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: CommunicationComponent | None = None
    ) -> bool:
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

    def save_model(
        self,
        request: HttpRequest,
        obj: WebhookEndpoint,
        form: forms.ModelForm[WebhookEndpoint],
        change: bool,
    ) -> None:
        services.webhook_endpoint_save(endpoint=obj)
        if not change:
            self._show_secret(request, obj)

    def _show_secret(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        self.message_user(
            request,
            f"The signing secret of “{obj.name}” is {obj.secret} . Copy it now: it is not shown "
            "again. Verify X-Hindsight-Signature as sha256=HMAC-SHA256(secret, "
            "timestamp + '.' + body).",
            messages.WARNING,
        )

    @admin.action(description="Generate a new secret (shown once)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.webhook_endpoint_secret_rotate(endpoint=endpoint)
            self._show_secret(request, endpoint)
