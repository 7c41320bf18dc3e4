from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from api.models import ApiToken, IdempotencyRecord
from api.tokens import token_create, token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "scope", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "last_used_at", "revoked_at", "created_at"]
    raw_id_fields = ["user"]
    actions = ["revoke"]

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm[ApiToken], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        days = None
        if obj.expires_at:
            from django.utils import timezone

            days = max(1, (obj.expires_at - timezone.now()).days)
        token, raw = token_create(
            user=obj.user, name=obj.name, scope=obj.scope, expires_in_days=days
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            f"The new token is {raw} — copy it now: it is stored only as a hash and will not be shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke(token=token)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["owner", "key", "method", "path", "state", "status_code", "created_at"]
    list_filter = ["state"]
    search_fields = ["key", "path"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
