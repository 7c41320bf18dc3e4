"""Conditional GETs on the API: every successful GET answers an ETag and If-None-Match with 304.

Django's own tools, limited to /api/: an answer without an ETag gets one from its bytes
(django.utils.cache.set_response_etag, a strong ETag, since it changes with every byte), and
get_conditional_response answers 304 when If-None-Match names it (compared weakly, as RFC 9110
says for If-None-Match, so W/"..." matches too). An ETag a view set itself is kept: rows answer
their version, which every write of the row bumps, so it validates the body as well.

A view may set an ETag that is also the If-Match token of its row's version, when the body
holds more than the row (the incident's detail embeds the rows of its sections, whose writes
leave its version alone): `versioned_etag` answers `"<version>.<digest of the body's data>"`, so
it validates the whole body for If-None-Match while the version in front keeps If-Match
working. The digest is of the serialized data, not the rendered bytes, so the view knows the
ETag before rendering: a create's answer and its Idempotency-Key replay carry the same one.

The work is the view's either way (the ETag is the answer's, so the answer is built): a 304
saves the client the body and its parsing, not the server its queries. Every answer says
`Vary: Authorization, Cookie`, because lists differ per user (tokens), and `Cache-Control:
private, no-cache`, so no shared cache keeps one person's answer and a client's own cache asks
again each time, with If-None-Match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)
from rest_framework.utils.encoders import JSONEncoder

# Hex digits of the digest in a versioned ETag: 64 bits, so two bodies of one version never
# share one in practice.
DIGEST_HEX = 16


def versioned_etag(version: int, data: Any) -> str:
    """A strong ETag naming `version` and validating `data`, the body before rendering."""
    encoded = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    digest = hashlib.blake2b(encoded.encode(), digest_size=DIGEST_HEX // 2).hexdigest()
    return f'"{version}.{digest}"'


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
        if not response.has_header("ETag"):
            return response
        conditional = get_conditional_response(request, etag=response["ETag"], response=response)
        return conditional or response
