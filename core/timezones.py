"""Each person sees times in the zone they chose (core.models.Profile), UTC until they do.

The zone travels in a signed cookie, set when they log in and when they choose one, so a page
costs no query to know it. The middleware activates it for the request: templates, forms and
`timezone.localtime` all follow. Messages to users are written in settings.TIME_ZONE whatever
the author's zone (incidents.communications.services).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.models import DEFAULT_TIME_ZONE, Profile

COOKIE = "hindsight_tz"
COOKIE_SALT = "core.time-zone"
COOKIE_MAX_AGE = 365 * 24 * 3600


def time_zone_of(user: User) -> str:
    found = Profile.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return found or DEFAULT_TIME_ZONE


def time_zone_remember(response: HttpResponse, name: str) -> None:
    response.set_signed_cookie(
        COOKIE,
        name,
        salt=COOKIE_SALT,
        max_age=COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


class UserTimeZone:
    """Activate the signed-in person's zone for the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.get_signed_cookie(COOKIE, default=None, salt=COOKIE_SALT)
        if name and name in zoneinfo.available_timezones():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ZoneLoginView(LoginView):
    """Django's login, which also brings the person's chosen zone to this browser."""

    redirect_authenticated_user = True
    # Django's form views answer PUT as POST, but read a form only from a POST's body: a PUT
    # could only ever show the form again. 405 says what the page takes.
    http_method_names = ["get", "post", "head", "options"]

    def form_valid(self, form):  # type: ignore[no-untyped-def]  # LoginView's own signature
        response = super().form_valid(form)
        time_zone_remember(response, time_zone_of(form.get_user()))
        return response
