"""For machines and embeds: the JSON summary, readable from any site, and the components'
badges, images for other people's pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from incidents.statuspage import machine
from incidents.statuspage.page import PAGE_CACHE_SECONDS
from incidents.statuspage.views.public import compressed

# Any site may read the summary from a browser: it is public, and no credentials are asked or
# honoured (no Allow-Credentials, and the answer is the same with or without a cookie).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Max-Age": "86400",
}


@csrf_exempt  # OPTIONS only; nothing is written
@compressed
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def status_summary(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    else:
        response = JsonResponse(machine.summary(), json_dumps_params={"separators": (",", ":")})
        response["Cache-Control"] = f"public, max-age={PAGE_CACHE_SECONDS}"
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


@require_safe
def component_badge(request: HttpRequest, pk: int) -> HttpResponse:
    badge = machine.badge(pk)
    if badge is None:
        raise Http404("No such component.")
    response = HttpResponse(machine.badge_svg(badge), content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={machine.BADGE_CACHE_SECONDS}"
    # An image on other people's pages: nothing in it may run, whatever a name says.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
