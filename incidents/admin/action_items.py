"""The admin of action items on their own page, saved through the row services (_parts.py)."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from incidents.admin._parts import PartsThroughServicesMixin
from incidents.models import ActionItem


@admin.register(ActionItem)
class ActionItemAdmin(PartsThroughServicesMixin, SimpleHistoryAdmin):
    list_display = [
        "title",
        "incident",
        "status",
        "priority",
        "horizon",
        "owner",
        "due_date",
        "blocks_deployments",
    ]
    list_filter = ["status", "priority", "horizon", "kind", "blocks_deployments"]
    search_fields = ["title", "detail", "incident__title"]
    list_select_related = ["incident", "owner"]
    raw_id_fields = ["incident", "parent", "owner", "done_by"]
