"""For machines and embeds: the feeds, the JSON summary (readable from any site) and the
components' badges (images for other people's pages). Each is kept built like the page
(incidents.statuspage.page.public_document): the same bytes for every reader, with an ETag."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from incidents.statuspage import machine
from incidents.statuspage.feeds import StatusAtomFeed, StatusRssFeed
from incidents.statuspage.page import BADGE_KEY, FEED_KEY, FRESH_SECONDS, SUMMARY_KEY, Built
from incidents.statuspage.views.public import answer_document

# Any site may read the summary from a browser: it is public, and no credentials are asked or
# honoured (no Allow-Credentials, and the answer is the same with or without a cookie).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Max-Age": "86400",
}
KEPT_FOR_A_WHILE = f"public, max-age={FRESH_SECONDS}"


def _feed_view(kind: str, feed: Feed) -> Callable[[HttpRequest], HttpResponse]:
    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        def build() -> Built:
            # The request only gives the feed its site, and every link in it is absolute on
            # HINDSIGHT_BASE_URL: the bytes are the same whoever asked.
            response = feed(request)
            return Built(body=response.content, content_type=response["Content-Type"])

        return answer_document(request, FEED_KEY.format(kind=kind), build)

    view.__name__ = view.__qualname__ = f"status_feed_{kind}"
    return view


status_feed_atom = _feed_view("atom", StatusAtomFeed())
status_feed_rss = _feed_view("rss", StatusRssFeed())


def _build_summary() -> Built:
    response = JsonResponse(machine.summary_build(), json_dumps_params={"separators": (",", ":")})
    return Built(body=response.content, content_type=response["Content-Type"])


@csrf_exempt  # OPTIONS only; nothing is written
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def status_summary(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    else:
        response = answer_document(
            request, SUMMARY_KEY, _build_summary, cache_control=KEPT_FOR_A_WHILE
        )
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


def _build_badge(pk: int) -> Built | None:
    badge = machine.badge_build(pk)
    if badge is None:
        return None
    return Built(body=machine.badge_svg(badge), content_type="image/svg+xml")


@require_safe
def component_badge(request: HttpRequest, pk: int) -> HttpResponse:
    response = answer_document(
        request,
        BADGE_KEY.format(pk=pk),
        lambda: _build_badge(pk),
        cache_control=f"public, max-age={machine.BADGE_CACHE_SECONDS}",
    )
    # An image on other people's pages: nothing in it may run, whatever a name says.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
