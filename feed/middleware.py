"""Forgets the acting token's name when a request ends, so the next request on the same thread
never records changes in its name."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from feed.services import feed_acting_as


class FeedActor:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The block restores the name to what it was (none) however the request ends; the
        # API's authentication sets it inside.
        with feed_acting_as(""):
            return self.get_response(request)
