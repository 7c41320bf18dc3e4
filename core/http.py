"""What views may count on in a request, told to the type checker.

At run time every view still gets Django's HttpRequest; these classes only annotate what
django-htmx's middleware and the login decorators guarantee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """Any request: HtmxMiddleware sets `request.htmx` on every one."""

    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """A request that got past login_required or permission_required: a real user made it."""

    user: User


def request_user(request: HttpRequest) -> User:
    """The user of a request that Django's login checks let through (the admin, a view behind
    login_required): a real one, said so for the type checker."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user
