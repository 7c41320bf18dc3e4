"""External references and labels, listed and searchable: a sync job's id finds its incident
here too. They are written through the incident's page or the API, which keep a source's key
on one incident and bump the incident's version; the admin only looks, and deletes."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import ExternalReference, IncidentLabel


class _LookOnly(admin.ModelAdmin):
    list_select_related = ["incident"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ExternalReference)
class ExternalReferenceAdmin(_LookOnly):
    list_display = ["source", "key", "incident", "url", "created_at"]
    list_filter = ["source"]
    search_fields = ["key", "incident__title"]


@admin.register(IncidentLabel)
class IncidentLabelAdmin(_LookOnly):
    list_display = ["name", "incident"]
    search_fields = ["name", "incident__title"]
