"""The public status page, each public incident's own page and the history pages, with the
helpers that answer the public documents: their kept bytes, their ETag, and gzip.

The page is the same bytes for every visitor: it carries no form and no CSRF token (the sign-up
form is on its own page, /status/subscribe/, which has its own token). So the rendered bytes are
kept whole in the database (incidents.statuspage.page.public_document), their digest is the ETag,
and a repeat visitor whose copy is current gets 304 with no body. The gzipped bytes are kept
beside them, made once when the page is built, so no request compresses it: a client that
accepts gzip gets them under an ETag of their own, with Vary: Accept-Encoding. Each public
incident's own page is kept the same way, under its own key; the history pages are read from the
database each time: two indexed queries for a page nobody refreshes during an outage.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.http import require_safe

from incidents.models.incident import REFERENCE_RE
from incidents.statuspage.page import (
    PAGE_KEY,
    Built,
    Served,
    incident_key,
    public_document,
    public_history_page,
    public_incident,
    status_page_build,
)
from incidents.statuspage.page.documents import gzipped
from incidents.statuspage.views._common import TEMPLATE_DIR

HTML = "text/html; charset=utf-8"
# Any cache may keep a public document (it is the same for everyone) but must ask again before
# reusing it: a 304 is cheap, and the page must not go stale during an incident.
NO_CACHE = "no-cache"


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


def _html(template: str, context: dict[str, object]) -> Built:
    return Built(
        body=render_to_string(f"{TEMPLATE_DIR}/{template}", context).encode(), content_type=HTML
    )


def _build_page() -> Built:
    return _html("page.html", {"page": status_page_build()})


def _build_incident(number: int) -> Built | None:
    incident = public_incident(number=number)
    return None if incident is None else _html("incident.html", {"incident": incident})


def document_response(
    request: HttpRequest, document: Served, *, cache_control: str = NO_CACHE
) -> HttpResponse:
    """The kept document as the answer: its ETag (304 when the visitor's copy is current),
    gzip negotiated with Vary, and the Cache-Control given."""
    response = HttpResponse(document.body, content_type=document.content_type)
    if document.gzipped:
        response["Content-Encoding"] = "gzip"
    response["ETag"] = document.etag
    response["Content-Length"] = str(len(document.body))
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Cache-Control"] = cache_control
    # Without a precondition that fails, the response it was given comes back.
    return get_conditional_response(request, etag=document.etag, response=response) or response


def answer_document(
    request: HttpRequest,
    key: str,
    build: Callable[[], Built | None],
    *,
    cache_control: str = NO_CACHE,
) -> HttpResponse:
    """The public document kept under `key` (built by `build()` if need be), answered; 404 when
    `build()` says there is none."""
    document = public_document(key, build, gzip=accepts_gzip(request))
    if document is None:
        raise Http404("No such page.")
    return document_response(request, document, cache_control=cache_control)


# Below this a gzipped answer saves nothing worth the header (Django's GZipMiddleware agrees).
GZIP_MIN_BYTES = 200


def compressed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gzip the view's answer for clients that accept it, for the public answers built per
    request (the history pages). Unlike Django's GZipMiddleware it adds no random padding (the
    BREACH mitigation): these answers hold no secret, so equal bodies stay equal bytes."""

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
            response.content = gzipped(response.content)
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
    return answer_document(request, incident_key(number), lambda: _build_incident(number))


@compressed
@require_safe
def status_history(request: HttpRequest) -> HttpResponse:
    """Every public incident, newest first, a page at a time."""
    page, entries = public_history_page(page=request.GET.get("page"))
    return render(request, f"{TEMPLATE_DIR}/history.html", {"page": page, "entries": entries})


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    return answer_document(request, PAGE_KEY, _build_page)
