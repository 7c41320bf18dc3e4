"""The public status page, each public incident's own page and the history pages, with the
helpers that answer them: the rendered bytes kept whole, their ETag, and gzip.

The page is the same bytes for every visitor: it carries no form and no CSRF token (the sign-up
form is on its own page, /status/subscribe/, which is not cached and has its own token). So the
rendered bytes are kept whole in Django's cache for PAGE_CACHE_SECONDS, their digest is the
ETag, and a repeat visitor whose copy is current gets 304 with no body. The gzipped bytes are
kept beside them, made once when the page is rendered, so no request compresses it: a client
that accepts gzip gets them under an ETag of their own, with Vary: Accept-Encoding. Each public
incident's own page is kept the same way, under its own key (a 404 too, so asking for internal
incidents costs no query per request); the history pages are read from the database each time:
two indexed queries for a page nobody refreshes during an outage.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.http import require_safe

from incidents.models.incident import REFERENCE_RE
from incidents.statuspage.page import (
    INCIDENT_CACHE_KEY,
    PAGE_CACHE_KEY,
    cached,
    public_history_page,
    public_incident,
    status_page_build,
)
from incidents.statuspage.views._common import TEMPLATE_DIR


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str
    # False for an incident that is not public (or not there): the cached answer is a 404.
    found: bool = True
    # The body gzipped, for clients that accept it; its ETag is etag with "-gz" inside the quotes.
    gzipped: bytes = b""

    @property
    def gzip_etag(self) -> str:
        return f'{self.etag[:-1]}-gz"'


def _gzip(body: bytes) -> bytes:
    # No timestamp in the header: every process makes the same bytes from the same body.
    return gzip.compress(body, compresslevel=6, mtime=0)


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding names gzip (or *) without q=0."""
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(quality) > 0
            except ValueError:
                return False
    return False


def _rendered(template: str, context: dict[str, object]) -> RenderedPage:
    body = render_to_string(f"{TEMPLATE_DIR}/{template}", context).encode()
    # Strong: equal tags are equal bytes, whoever asked and whichever process rendered them.
    return RenderedPage(
        body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:20]}"', gzipped=_gzip(body)
    )


def _render() -> RenderedPage:
    return _rendered("page.html", {"page": status_page_build()})


def _render_incident(number: int) -> RenderedPage:
    incident = public_incident(number=number)
    if incident is None:
        return RenderedPage(body=b"", etag="", found=False)
    return _rendered("incident.html", {"incident": incident})


def _same_bytes_for_everyone(request: HttpRequest, page: RenderedPage) -> HttpResponse:
    if page.gzipped and accepts_gzip(request):
        response = HttpResponse(page.gzipped, content_type="text/html; charset=utf-8")
        response["Content-Encoding"] = "gzip"
        etag = page.gzip_etag
    else:
        response = HttpResponse(page.body, content_type="text/html; charset=utf-8")
        etag = page.etag
    response["ETag"] = etag
    response["Content-Length"] = str(len(response.content))
    patch_vary_headers(response, ("Accept-Encoding",))
    # Any cache may keep it (it is the same for everyone) but must ask again before reusing it:
    # a 304 is cheap, and the page must not go stale during an incident.
    response["Cache-Control"] = "no-cache"
    # Without a precondition that fails, the response it was given comes back.
    return get_conditional_response(request, etag=etag, response=response) or response


# Below this a gzipped answer saves nothing worth the header (Django's GZipMiddleware agrees).
GZIP_MIN_BYTES = 200


def compressed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gzip the view's answer for clients that accept it, for public answers built per request
    from cached rows (history, feeds, summary). Unlike Django's GZipMiddleware it adds no random
    padding (the BREACH mitigation): these answers hold no secret, so equal bodies stay equal
    bytes."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.streaming or response.status_code != 200:
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if (
            accepts_gzip(request)
            and not response.has_header("Content-Encoding")
            and len(response.content) >= GZIP_MIN_BYTES
        ):
            response.content = _gzip(response.content)
            response["Content-Encoding"] = "gzip"
            response["Content-Length"] = str(len(response.content))
        return response

    return wrapper


@require_safe
def status_incident(request: HttpRequest, reference: str) -> HttpResponse:
    """A public incident's own page: its updates (withdrawn ones marked so) and its public
    post-mortem. 404 for an internal incident or a duplicate, as for one that does not exist."""
    match = REFERENCE_RE.match(reference)
    if match is None:
        raise Http404("No such incident.")
    number = int(match.group(1))
    page = cached(INCIDENT_CACHE_KEY.format(number=number), lambda: _render_incident(number))
    if not page.found:
        raise Http404("No such incident.")
    return _same_bytes_for_everyone(request, page)


@compressed
@require_safe
def status_history(request: HttpRequest) -> HttpResponse:
    """Every public incident, newest first, a page at a time."""
    page, entries = public_history_page(page=request.GET.get("page"))
    return render(request, f"{TEMPLATE_DIR}/history.html", {"page": page, "entries": entries})


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    return _same_bytes_for_everyone(request, cached(PAGE_CACHE_KEY, _render))
