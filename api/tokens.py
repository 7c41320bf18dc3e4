"""Creating, checking and revoking API tokens, and the service accounts that may hold them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken, ServiceAccount
from core.roles import Role

TOKEN_PREFIX = "hst_"
PREFIX_LENGTH = 12  # "hst_" and 8 characters of the secret: enough to tell tokens apart


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_expiry_limit(*, parent: ApiToken | None, now: datetime) -> datetime | None:
    """The latest a new token may expire: its parent's expiry, else HINDSIGHT_TOKEN_MAX_DAYS
    from now (0: no limit). A parent never lets a child outlive the setting either."""
    days = settings.HINDSIGHT_TOKEN_MAX_DAYS
    limit = now + timedelta(days=days) if days else None
    if parent is not None and parent.expires_at is not None:
        limit = parent.expires_at if limit is None else min(limit, parent.expires_at)
    return limit


def _too_long(*, parent: ApiToken | None, limit: datetime, now: datetime) -> str:
    days = (limit - now).days
    if parent is not None and parent.expires_at == limit:
        return (
            f"A token cannot outlive the token that makes it, which expires on "
            f"{limit:%Y-%m-%d %H:%M} UTC: at most {days} days, or leave it empty to expire with it."
        )
    return f"New tokens live at most {days} days here; leave it empty for that."


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    scope: str = ApiToken.Scope.READ,
    expires_in_days: int | None = None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """Make a token and return it with its secret, which is never stored and never shown again.

    Without `expires_in_days` it lives as long as it may (token_expiry_limit); asking for longer
    is refused, never shortened behind the asker's back.
    """
    now = timezone.now()
    limit = token_expiry_limit(parent=parent, now=now)
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else limit
    if limit is not None and expires_at is not None and expires_at > limit:
        raise ValidationError({"expires_in_days": _too_long(parent=parent, limit=limit, now=now)})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        scope=ApiToken.Scope(scope),
        prefix=raw[:PREFIX_LENGTH],
        key_hash=token_hash(raw),
        expires_at=expires_at,
        parent=parent,
    )
    token.full_clean(exclude=["key_hash", "prefix"])
    token.save()
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token and every token made with it, and with those, all the way down."""
    family = [token.pk]
    generation = [token.pk]
    while generation:
        generation = list(
            ApiToken.objects.filter(parent__in=generation).values_list("pk", flat=True)
        )
        family += generation
    ApiToken.objects.filter(pk__in=family, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token with this secret, or None. Marks it used (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        # A cheap write only once a minute, so a busy CI token doesn't write on every request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def service_account_create(
    *, username: str, role: str, description: str = "", created_by: User | None
) -> ServiceAccount:
    """A user that is not a person, in one role, that holds tokens and never logs in."""
    user = User(username=username, is_active=True)
    # No password can match; api.backends also refuses it, should someone set one later.
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.set([Group.objects.get(name=Role(role).value)])
    account = ServiceAccount(user=user, description=description, created_by=created_by)
    account.full_clean(exclude=["user"])
    account.save()
    return account
