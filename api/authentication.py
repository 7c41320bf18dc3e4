from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import authentication, exceptions

from api.scopes import scope_refusal
from api.tokens import token_authenticate
from feed.services import feed_token_set

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request

    from api.models import ApiToken


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer hst_...`: an API token. request.auth is the ApiToken.

    The token's scope is checked here, against the view the request is for (api.scopes): every
    API route authenticates through this class, whatever permission classes it has, so no route
    can forget the check.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as: Authorization: Bearer <token>."
            )
        token = token_authenticate(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        view = (request.parser_context or {}).get("view")
        if view is not None and (refusal := scope_refusal(token, view, request.method or "")):
            raise exceptions.PermissionDenied(refusal)
        # The change feed names the token, not its owner, as who made this request's changes.
        feed_token_set(token.name, owner=token.user_id)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated requests 401 with a challenge, not 403.
        return f'{self.keyword} realm="api"'
