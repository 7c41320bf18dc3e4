"""The admin of the status page's side: maintenance windows, subscribers, components and their
groups, and (to look at) the kept public documents.

Windows, components and groups save through the services the pages use (incidents.statuspage.services), so a window saved
here is checked, stored with its HTML rendered and shown on the status page at once, exactly as
one saved from the maintenance pages; a component's checks are set by the same service as its
fields. A component's status is not edited here: it is set, by compare-and-set, from the
components page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

# Communications, their delivery log, webhook endpoints and the outbox: registered by importing
# their module, which keeps this one short.
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Maintenance,
    PublicDocument,
    Subscriber,
)
from incidents.statuspage import services


class MaintenanceAdminForm(forms.ModelForm):
    def _post_clean(self) -> None:
        # After the model's own validation (as Django's UserCreationForm checks the password):
        # the service's checks, so what it would refuse shows beside its field instead of
        # failing in save_model, where the admin has no form left to show it on.
        super()._post_clean()  # type: ignore[misc]  # Django's own hook, missing from the stubs
        if self.errors:
            return
        try:
            services.maintenance_check(maintenance=self.instance, **self.cleaned_data)
        except ValidationError as error:
            by_field = (
                error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            )
            for name, messages in by_field.items():
                self.add_error(name if name in self.fields else None, messages)


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    form = MaintenanceAdminForm
    list_display = ["title", "service", "starts_at", "ends_at", "cancelled_at"]
    list_filter = ["service"]
    search_fields = ["title", "description"]
    list_select_related = ["service"]
    date_hierarchy = "starts_at"

    def save_model(
        self, request: HttpRequest, obj: Maintenance, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            services.maintenance_update(maintenance=obj, **form.cleaned_data)
            return
        created = services.maintenance_create(**form.cleaned_data)
        # The admin goes on with its own instance: its log entry and redirect name it.
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Maintenance) -> None:
        services.maintenance_delete(maintenance=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Maintenance]) -> None:
        for maintenance in queryset:
            services.maintenance_delete(maintenance=maintenance)


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
        count = services.subscribers_unsubscribe(subscribers=queryset)
        self.message_user(request, f"{count} address(es) unsubscribed.")


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    search_fields = ["name"]

    def save_model(
        self, request: HttpRequest, obj: ComponentGroup, form: forms.ModelForm, change: bool
    ) -> None:
        saved = services.component_group_save(group=obj if change else None, **form.cleaned_data)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ComponentGroup) -> None:
        services.component_group_delete(group=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ComponentGroup]) -> None:
        for group in queryset:
            services.component_group_delete(group=group)


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    fields = ["name", "group", "order", "health_checks", "follows_checks", "status"]
    readonly_fields = ["status"]
    list_display = ["name", "group", "order", "status", "follows_checks"]
    list_filter = ["group", "status", "follows_checks"]
    search_fields = ["name"]
    list_select_related = ["group"]
    filter_horizontal = ["health_checks"]

    def save_model(
        self, request: HttpRequest, obj: Component, form: forms.ModelForm, change: bool
    ) -> None:
        fields = dict(form.cleaned_data)
        checks = fields.pop("health_checks")
        saved = services.component_save(
            component=obj if change else None, health_checks=checks, **fields
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # The checks were set by component_save; the form's own save_m2m would set them again,
        # behind the service's back.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Component) -> None:
        services.component_delete(component=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        for component in queryset:
            services.component_delete(component=component)


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(admin.ModelAdmin):
    """The history the uptime bars read: written by the services that set a status, never
    here. Deleting stays allowed: the admin's delete of a component takes its history along."""

    list_display = ["component", "status", "at"]
    list_filter = ["status"]
    search_fields = ["component__name"]
    list_select_related = ["component"]
    date_hierarchy = "at"
    readonly_fields = ["component", "status", "at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ComponentStatusChange | None = None
    ) -> bool:
        return False


@admin.register(PublicDocument)
class PublicDocumentAdmin(admin.ModelAdmin):
    """To see what is kept and when it was built. Only the pages build and write these rows;
    deleting one is harmless (the next reader builds it again)."""

    list_display = ["key", "content_type", "etag", "built_at", "stale", "claimed_until"]
    search_fields = ["key"]
    # The bytes are the page itself: open it instead.
    exclude = ["body", "gzipped"]
    readonly_fields = ["key", "content_type", "etag", "built_at", "stale", "claimed_until"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PublicDocument | None = None
    ) -> bool:
        return False
