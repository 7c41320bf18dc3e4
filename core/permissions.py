"""Who may do what in the web UI. The roles are Django groups (core.roles); the checks use the
model permissions those groups carry, so a superuser and any custom group work too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

EDIT_PERMISSION = "incidents.change_incident"


def can_edit(user) -> bool:
    """Editors and admins write post-mortems and tick items; viewers only read."""
    return user.is_authenticated and user.has_perm(EDIT_PERMISSION)


def editor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; then 403 for anyone who may not edit, e.g. a viewer's forged POST."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.htmx:
                # A plain 302 would be followed inside htmx's own request, and the login form
                # swapped into a table row. Send the whole page to log in, then back to it.
                back = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(redirect_to_login(back).url)
            return redirect_to_login(request.get_full_path())
        if not can_edit(request.user):
            raise PermissionDenied("Your role can read post-mortems but not change them.")
        return view(request, *args, **kwargs)

    return wrapper
