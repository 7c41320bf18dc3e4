"""Who may do what in the web UI. The roles are Django groups (core.roles); the checks use the
model permissions those groups carry, so a superuser and any custom group work too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django_htmx.http import HttpResponseClientRedirect

from core.http import HtmxHttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

EDIT_PERMISSION = "incidents.change_incident"


def can_edit(user: User | AnonymousUser) -> bool:
    """Editors and admins write post-mortems and tick items; viewers only read."""
    return user.is_authenticated and user.has_perm(EDIT_PERMISSION)


def permission_required(
    permission: str, message: str
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Log in first; then 403 with `message` for anyone without `permission`, e.g. a viewer's
    forged POST. One decorator for every page, so the login redirect and the refusal read the
    same everywhere."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.htmx:
                    # A plain 302 would be followed inside htmx's own request, and the login
                    # form swapped into a table row. Send the whole page to log in, then back.
                    back = request.htmx.current_url_abs_path or request.get_full_path()
                    return HttpResponseClientRedirect(redirect_to_login(back).url)
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(permission):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


editor_required = permission_required(
    EDIT_PERMISSION, "Your role can read post-mortems but not change them."
)
