from __future__ import annotations

from rest_framework import permissions

from api.models import ApiToken


class RolePermission(permissions.DjangoModelPermissions):
    """The UI's roles, over the API: the groups' model permissions decide, reads included.

    A read-scope token never writes, whatever its owner may do.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        if (
            request.method not in permissions.SAFE_METHODS
            and isinstance(request.auth, ApiToken)
            and not request.auth.can_write
        ):
            self.message = "This token has the read scope; writing needs a write token."
            return False
        return super().has_permission(request, view)
