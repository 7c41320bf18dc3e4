"""Conditional GETs on the API: every successful GET answers an ETag and If-None-Match with 304.

Django's own tools, limited to /api/: an answer without an ETag gets one from its bytes
(django.utils.cache.set_response_etag, a strong ETag, since it changes with every byte), and
get_conditional_response answers 304 when If-None-Match names it (compared weakly, as RFC 9110
says for If-None-Match, so W/"..." matches too). An ETag a view set itself is kept: rows answer
their version, which every write of the row bumps, so it validates the body as well.

The incident's detail is the exception: its ETag is the incident's version, the If-Match contract
for writes, but the detail embeds the sections' rows, whose writes leave that version alone, so
"7" can name two different bodies. The view marks it (`etag_names_version_only`) and it never
answers 304: a stale 304 would hide a change, a 200 only costs the bytes.

The work is the view's either way (the ETag is the answer's, so the answer is built): a 304
saves the client the body and its parsing, not the server its queries. Every answer says
`Vary: Authorization, Cookie`, because lists differ per user (tokens), and `Cache-Control:
private, no-cache`, so no shared cache keeps one person's answer and a client's own cache asks
again each time, with If-None-Match.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)

# Set on a response whose ETag is not a validator of its body (see above).
VERSION_ONLY = "etag_names_version_only"


def etag_names_version_only(response: HttpResponseBase) -> None:
    setattr(response, VERSION_ONLY, True)


class ApiConditionalGet:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not request.path_info.startswith("/api/"):
            return response
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if request.method != "GET" or not 200 <= response.status_code < 300:
            return response  # no 304 on errors; writes have If-Match, not this
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        if getattr(response, "streaming", False) or not isinstance(response, HttpResponse):
            return response
        if not response.has_header("ETag"):
            set_response_etag(response)
        if getattr(response, VERSION_ONLY, False) or not response.has_header("ETag"):
            return response
        conditional = get_conditional_response(request, etag=response["ETag"], response=response)
        return conditional or response
