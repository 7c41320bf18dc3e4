"""Who may do what in the web UI. The roles are Django groups (core.roles); the checks use the
model permissions those groups carry, so a superuser and any custom group work too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from core.http import HtmxHttpRequest
from core.kept_forms import form_keep

EDIT_PERMISSION = "incidents.change_incident"
# Whatever a view answers, files (a FileResponse streams) included.
_Response = TypeVar("_Response", bound=HttpResponseBase)


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
                return _log_in_first(request, keep=getattr(view, "keeps_typed_text", False))
            if not request.user.has_perm(permission):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _log_in_first(request: HtmxHttpRequest, *, keep: bool) -> HttpResponse:
    """Send someone whose session is gone to log in, and back where they were after.

    A form's POST is kept (core.kept_forms) and they come back to that form with it; anything
    else brings them back to the page they were on. Never the login form swapped into a part of
    a page: an in-place (htmx) request moves the whole page to the login, which says why.
    """
    if request.method == "POST":
        messages.info(
            request,
            "Your session expired, so you were logged out. Log in again"
            + (": what you typed is kept and waits on the form." if keep else "."),
        )
    if request.method == "POST" and keep:
        form_keep(request)
        back = request.path
    elif request.htmx and request.htmx.current_url_abs_path:
        back = request.htmx.current_url_abs_path
    elif request.method == "POST":
        referer = request.headers.get("Referer", "")
        same_site = url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        back = referer if referer and same_site else request.path
    else:
        back = request.get_full_path()
    login = redirect_to_login(back)
    if request.htmx:
        # A plain 302 would be followed inside htmx's own request, and the login form swapped
        # into a table row.
        return HttpResponseClientRedirect(login.url)
    return login


def login_required(view: Callable[..., _Response]) -> Callable[..., _Response | HttpResponse]:
    """Django's login_required, but a part of a page (an htmx request) whose session ran out
    moves the whole page to the login, which says why, instead of getting the login form
    swapped into it; and a form's POST is kept as permission_required keeps it."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> _Response | HttpResponse:
        if not request.user.is_authenticated:
            return _log_in_first(request, keep=getattr(view, "keeps_typed_text", False))
        return view(request, *args, **kwargs)

    return wrapper


editor_required = permission_required(
    EDIT_PERMISSION, "Your role can read post-mortems but not change them."
)
