"""API tokens: pages to make and revoke them (a person's own, and an admin's for service
accounts), and the same over the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api.forms import ServiceAccountForm, TokenForm
from api.models import ApiToken, ServiceAccount
from api.permissions import request_user
from api.scopes import DESCRIPTIONS
from api.serializers import RejectUnknownFieldsMixin, StrictCharField
from api.tokens import service_account_create, token_create, token_revoke
from core.http import AuthenticatedHttpRequest
from core.permissions import login_required, permission_required

MANAGE_SERVICE_ACCOUNTS = "api.add_serviceaccount"
service_accounts_required = permission_required(
    MANAGE_SERVICE_ACCOUNTS, "Only admins manage service accounts."
)


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


def _tokens_page(
    request: AuthenticatedHttpRequest, *, owner: User, account: ServiceAccount | None
) -> HttpResponse:
    """The list of `owner`'s tokens with the form for a new one: the same page for a person's
    own tokens and for a service account's."""
    can_write = _may_write(owner)
    new_token = None
    if request.method == "POST":
        form = TokenForm(request.POST, can_write=can_write)
        if form.is_valid():
            try:
                _token, new_token = token_create(
                    user=owner,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                form = TokenForm(can_write=can_write)
    else:
        form = TokenForm(can_write=can_write)
    tokens = ApiToken.objects.filter(user=owner)
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "new_token": new_token,
            "account": account,
            "scopes": DESCRIPTIONS,
        },
        status=422 if request.method == "POST" and new_token is None else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def token_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _tokens_page(request, owner=request.user, account=None)


@require_POST
@login_required
def token_revoke_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user__service_account"), pk=pk)
    account = getattr(token.user, "service_account", None)
    mine = token.user_id == request.user.pk
    if not mine and not (account and request.user.has_perm(MANAGE_SERVICE_ACCOUNTS)):
        # The same answer as for no such token: someone else's tokens are not even listed.
        raise Http404("No such token.")
    token_revoke(token=token)
    messages.success(
        request,
        f"Token {token.prefix}… revoked, with any tokens made with it; they no longer work.",
    )
    if account is not None and not mine:
        return redirect("service_account_tokens", pk=account.pk)
    return redirect("tokens")


@require_http_methods(["GET", "POST"])
@service_accounts_required
def service_account_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ServiceAccountForm(request.POST)
        if form.is_valid():
            if User.objects.filter(username__iexact=form.cleaned_data["username"]).exists():
                form.add_error("username", "A user or service account has this name already.")
            else:
                account = service_account_create(
                    username=form.cleaned_data["username"],
                    role=form.cleaned_data["role"],
                    description=form.cleaned_data["description"],
                    created_by=request.user,
                )
                messages.success(request, f"Service account {account} made; now give it a token.")
                return redirect("service_account_tokens", pk=account.pk)
    else:
        form = ServiceAccountForm()
    accounts = (
        ServiceAccount.objects.select_related("user")
        .prefetch_related("user__groups")
        .annotate(
            active_tokens=Count(
                "user__api_tokens", filter=Q(user__api_tokens__revoked_at__isnull=True)
            )
        )
    )
    return render(
        request,
        "api/service_accounts.html",
        {"form": form, "accounts": accounts},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@service_accounts_required
def service_account_tokens(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ServiceAccount.objects.select_related("user"), pk=pk)
    return _tokens_page(request, owner=account.user, account=account)


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "parent",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "parent": {"help_text": "The token that made this one; it dies with that one."}
        }


class TokenCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = StrictCharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.READ)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        allow_null=True,
        help_text="At most until the token making it expires, and at most the server's limit "
        "(HINDSIGHT_TOKEN_MAX_DAYS); left out, the longest allowed.",
    )


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret. Shown in this answer only.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your own API tokens. DELETE revokes (the row stays, so the prefix stays recognisable),
    and revokes every token made with it too. Making and revoking need a write token."""

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
            # Made with a token: it records its parent, and can neither outlive nor survive it.
            parent=request.auth if isinstance(request.auth, ApiToken) else None,
        )
        body = TokenSerializer(token).data | {"token": raw}
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        token_revoke(token=instance)
