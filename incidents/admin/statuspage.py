"""The admin of the status page's side: maintenance windows and subscribers."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core.rendering import render as render_markdown

# Communications, their delivery log, webhook endpoints and the outbox: registered by importing
# their module, which keeps this one short.
from incidents.models import (
    Maintenance,
    Subscriber,
)
from incidents.statuspage.page import status_page_invalidate


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    list_display = ["title", "service", "starts_at", "ends_at"]
    list_filter = ["service"]
    search_fields = ["title", "description"]
    list_select_related = ["service"]
    date_hierarchy = "starts_at"

    def save_model(
        self,
        request: HttpRequest,
        obj: Maintenance,
        form: forms.ModelForm[Maintenance],
        change: bool,
    ) -> None:
        # As maintenance_create does: the status page shows the stored HTML, and at once.
        obj.description_html = render_markdown(obj.description)
        super().save_model(request, obj, form, change)
        transaction.on_commit(status_page_invalidate)

    def delete_model(self, request: HttpRequest, obj: Maintenance) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(status_page_invalidate)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Maintenance]) -> None:
        super().delete_queryset(request, queryset)
        transaction.on_commit(status_page_invalidate)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    """Confirmation is the address owner's to give (double opt-in), so it is read-only here."""

    list_display = ["email", "confirmed_at", "unsubscribed_at", "created_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter), "unsubscribed_at"]
    search_fields = ["email"]
    readonly_fields = ["confirmed_at", "unsubscribed_at", "created_at"]
    actions = ["unsubscribe"]

    @admin.action(description="Unsubscribe the selected addresses")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        count = queryset.filter(unsubscribed_at__isnull=True).update(unsubscribed_at=timezone.now())
        self.message_user(request, f"{count} address(es) unsubscribed.")
