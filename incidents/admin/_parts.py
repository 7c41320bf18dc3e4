"""What every admin of the post-mortem's rows shares: saving and deleting through the row
services, as the page and the API do, so Markdown, history and versions are kept the same way.
Used by the incident's inlines and by each kind of row's own admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest

from core.http import request_user
from incidents.models.base import MarkdownModel
from incidents.postmortem import services


class InlinePartsThroughServicesMixin:
    """Rows shown inline, saved and deleted by the row services.

    A changed row writes only the fields the admin changed, over the row as it is now, so an
    admin's edit of a title never undoes an editor ticking the item meanwhile.
    """

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm[Any],
        formset: BaseModelFormSet[MarkdownModel, Any],
        change: bool,
    ) -> None:
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.part_delete(row=obj, user=request_user(request))
        for obj in formset.new_objects:
            services.part_save(row=obj, user=request_user(request))
        for obj, fields in formset.changed_objects:
            services.part_save(row=obj, user=request_user(request), fields=fields)
        formset.save_m2m()


class PartsThroughServicesMixin(InlinePartsThroughServicesMixin):
    """Rows of the post-mortem saved and deleted by the row services."""

    def save_model(
        self, request: HttpRequest, obj: MarkdownModel, form: forms.ModelForm[Any], change: bool
    ) -> None:
        services.part_save(
            row=obj, user=request_user(request), fields=form.changed_data if change else None
        )

    def delete_model(self, request: HttpRequest, obj: MarkdownModel) -> None:
        services.part_delete(row=obj, user=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MarkdownModel]) -> None:
        for obj in queryset:
            services.part_delete(row=obj, user=request_user(request))
