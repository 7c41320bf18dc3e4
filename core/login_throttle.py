"""Login throttling with django-axes (settings in hindsight/settings/security.py).

Wrong passwords are counted per user name *and* address, so a lock keeps a guesser at one address
away from one name and nothing else: the person themselves signs in from their own machine, and
nobody can lock a colleague out by typing their name elsewhere.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

log = logging.getLogger("hindsight.login")


class ThrottledLoginBackend(AxesStandaloneBackend):
    """Refuses a locked-out sign-in; ModelBackend after it checks the password.

    authenticate() without a request (a management command, the shell, the test client's
    login()) has no address to count against, so it is not throttled rather than refused:
    django-axes' own backend raises there.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request: HttpRequest) -> str | None:
    """The address a sign-in came from.

    Behind the TLS proxy (BEHIND_TLS_PROXY) every request comes from the proxy, so the client is
    the entry the proxy appended to X-Forwarded-For: the TLS_PROXY_COUNT-th from the right.
    Entries left of it are whatever the client sent and prove nothing.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_TLS_PROXY:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    count = max(settings.TLS_PROXY_COUNT, 1)
    if len(forwarded) < count:
        return remote
    return forwarded[-count]


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The login page again, saying why and for how long, with the name kept (429)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    log.warning(
        "Sign-in locked for user name %r from %s after %d wrong passwords",
        username,
        client_address(request),
        settings.AXES_FAILURE_LIMIT,
    )
    form = AuthenticationForm(request, initial={"username": username})
    wait = f"Try again in {minutes} minutes" if minutes else "Ask an administrator to unlock it"
    context = {
        "form": form,
        "next": request.POST.get("next", ""),
        "locked_out": (
            f"Too many wrong passwords for {username or 'this user name'} from your address. "
            f"{wait}."
        ),
    }
    return render(request, "registration/login.html", context, status=429)
