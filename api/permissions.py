from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions, permissions
from rest_framework.request import Request

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.views import APIView


class RolePermission(permissions.DjangoModelPermissions):
    """The UI's roles, over the API: the groups' model permissions decide, reads included.

    A token's scope is checked before this, in api.authentication (api.scopes).
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
    message = "Your role may not do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        method = (request.method or "").lower()
        if request.user.is_authenticated and getattr(view, method, None) is None:
            # The view has no handler for this method and answers 405 itself: a 403 here would
            # name the role as the reason when no role may do it (DELETE of an incident, say).
            return True
        return super().has_permission(request, view)


def request_user(request: Request) -> User:
    """The user behind a request that got to a view: RolePermission and IsAuthenticated let no
    anonymous request through, so this only tells the type checker that it is a real user."""
    user = request.user
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user
