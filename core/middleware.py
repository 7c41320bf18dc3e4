"""Middleware every app shares."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreForSignedIn:
    """Pages a signed-in person sees are not kept by the browser.

    Tried as a new user: after adding a row, going elsewhere and pressing Back showed the page
    without the row, and editing that copy worked on stale text. Every HTML answer to a
    signed-in person says no-store, unless the view chose its own caching (the public status
    page and feeds, which are the same for everyone).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control") or not response.get("Content-Type", "").startswith(
            "text/html"
        ):
            # Asked last: reading the user reads the session, which makes the answer vary on
            # the cookie, and the status page is the same bytes for everyone.
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
