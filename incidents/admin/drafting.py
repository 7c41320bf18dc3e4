"""What authors discarded from drafts from the facts, in the admin: listed, never added or
changed here. Deleting one lets "Start the post-mortem" propose that fact again."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from incidents.models import DiscardedProposal


@admin.register(DiscardedProposal)
class DiscardedProposalAdmin(admin.ModelAdmin):
    list_display = ["incident", "part", "kind", "occurred_at", "discarded_by", "discarded_at"]
    list_filter = ["part"]
    list_select_related = ["incident", "discarded_by"]
    search_fields = ["text", "incident__title"]
    readonly_fields = [
        "incident",
        "part",
        "kind",
        "occurred_at",
        "deployment",
        "text",
        "discarded_by",
        "discarded_at",
    ]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
