"""External references, labels and search documents, listed for looking. References and labels
are written through the incident's page or the API, which keep a source's key on one incident
and bump the incident's version; search documents by the refresh after each change and the
beat's sweep. The admin only looks, and deletes (a deleted search document is built again by
the next sweep)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import ExternalReference, IncidentLabel, SearchDocument


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


@admin.register(SearchDocument)
class SearchDocumentAdmin(_LookOnly):
    list_display = ["incident", "built_at", "stale_since"]
    search_fields = ["incident__title"]
    exclude = ["vector", "heading_vector"]
