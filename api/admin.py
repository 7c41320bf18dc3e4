from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from api.models import ApiToken, IdempotencyRecord, ServiceAccount
from api.tokens import service_account_create, token_create, token_expiry_limit, token_revoke
from core.roles import Role


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "scope", "expires_at"]

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data["expires_at"]
        limit = token_expiry_limit(parent=None, now=timezone.now())
        if self.instance.pk is None and limit and expires_at and expires_at > limit:
            raise forms.ValidationError(
                f"New tokens live at most until {limit:%Y-%m-%d %H:%M} UTC "
                "(HINDSIGHT_TOKEN_MAX_DAYS); leave it empty for that."
            )
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "name", "user", "scope", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "parent", "last_used_at", "revoked_at", "created_at"]
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

    @admin.action(description="Revoke the selected tokens (and the tokens made with them)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            token_revoke(token=token)


class ServiceAccountForm(forms.ModelForm):
    username = forms.RegexField(regex=r"^[\w.@+-]+\Z", max_length=150)
    role = forms.ChoiceField(choices=Role.choices)

    class Meta:
        model = ServiceAccount
        fields = ["description"]

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user or service account has this name already.")
        return username


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    """Made here with a role, then given tokens under API tokens (user: this account)."""

    list_display = ["user", "description", "created_by", "created_at"]
    search_fields = ["user__username", "description"]
    list_select_related = ["user", "created_by"]
    readonly_fields = ["user", "created_by", "created_at"]

    def get_form(
        self,
        request: HttpRequest,
        obj: ServiceAccount | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[ModelForm[ServiceAccount]]:
        if obj is None:
            kwargs["form"] = ServiceAccountForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ServiceAccount | None = None) -> Any:
        if obj is None:
            return ["username", "role", "description"]
        return ["user", "description", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ServiceAccount | None = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def save_model(
        self,
        request: HttpRequest,
        obj: ServiceAccount,
        form: ModelForm[ServiceAccount],
        change: bool,
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        user = request.user if isinstance(request.user, User) else None
        account = service_account_create(
            username=form.cleaned_data["username"],
            role=form.cleaned_data["role"],
            description=form.cleaned_data["description"],
            created_by=user,
        )
        obj.pk = account.pk
        obj.refresh_from_db()


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["owner", "key", "method", "path", "state", "status_code", "created_at"]
    list_filter = ["state"]
    search_fields = ["key", "path"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
