"""Personal API tokens: a page to make and revoke them, and the same over the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api.forms import TokenForm
from api.models import ApiToken
from api.permissions import request_user
from api.serializers import RejectUnknownFieldsMixin, StrictCharField
from api.tokens import token_create, token_revoke
from core.http import AuthenticatedHttpRequest
from core.permissions import login_required


def _may_write(user: User) -> bool:
    # Any model write permission at all: a viewer's token could never write anyway.
    return (
        user.is_superuser
        or user.user_permissions.exists()
        or any(
            p.split(".", 1)[1].startswith(("add_", "change_", "delete_"))
            for p in user.get_all_permissions()
        )
    )


@require_http_methods(["GET", "POST"])
@login_required
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    can_write = _may_write(request.user)
    new_token = None
    if request.method == "POST":
        form = TokenForm(request.POST, can_write=can_write)
        if form.is_valid():
            _token, new_token = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
            form = TokenForm(can_write=can_write)
    else:
        form = TokenForm(can_write=can_write)
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token},
        status=422 if request.method == "POST" and new_token is None else 200,
    )


@require_POST
@login_required
def token_revoke_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(token=token)
    messages.success(request, f"Token {token.prefix}… revoked; it no longer works.")
    return redirect("tokens")


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = fields


class TokenCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = StrictCharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.READ)
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret. Shown in this answer only.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your own API tokens. DELETE revokes (the row stays, so the prefix stays recognisable)."""

    serializer_class = TokenSerializer
    permission_classes = [permissions.IsAuthenticated]
    throttle_scope = "tokens"
    ordering = ["-created_at"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=request_user(self.request)).order_by("-created_at")

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken) and not request.auth.can_write:
            # Otherwise a leaked read token could mint itself a write token.
            raise PermissionDenied("A read-scope token cannot create tokens.")
        data = TokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request_user(request)
        if data.validated_data["scope"] == ApiToken.Scope.WRITE and not _may_write(user):
            raise serializers.ValidationError({"scope": ["Your role can only read."]})
        token, raw = token_create(
            user=user,
            name=data.validated_data["name"],
            scope=data.validated_data["scope"],
            expires_in_days=data.validated_data.get("expires_in_days"),
        )
        body = TokenSerializer(token).data | {"token": raw}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        if isinstance(self.request.auth, ApiToken) and not self.request.auth.can_write:
            raise PermissionDenied("A read-scope token cannot revoke tokens.")
        token_revoke(token=instance)
