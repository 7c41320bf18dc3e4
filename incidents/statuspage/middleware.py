"""KeptStatusPages: the status page and each public incident's page, answered from their kept
row before the rest of the middleware stack.

Both are the same bytes for every visitor, kept built in the database
(incidents.statuspage.page.documents). Profiled under load, the middleware after WhiteNoise
(sessions, CSRF, authentication, messages, time zones, htmx, history, idempotency) and the URL
resolver cost such a request more than reading and sending its bytes, and none of them changes
the answer: the page sets no cookie, reads no session and has its own caching headers. So this
middleware, placed right after WhiteNoise, answers GET and HEAD for those two paths from the
kept row when it is fresh and not stale (or another process is rebuilding it, when the view
would serve the same bytes), with the headers the view sends (ETag and 304, gzip negotiated
with Vary, Cache-Control) and the X-Frame-Options the stack would add. When the row is missing,
stale or expired it does nothing: the view answers and builds, so there is one builder. Feeds,
the JSON summary and badges go through the views as before.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from incidents.models.incident import REFERENCE_RE
from incidents.statuspage.page import PAGE_KEY, incident_key, kept_document
from incidents.statuspage.views.public import accepts_gzip, document_response

# Any reference the URL pattern would accept: the pattern's part is made of this.
SAMPLE_REFERENCE = "INC-1"


class KeptStatusPages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Read from the URLconf at the first request (it may not be loaded before).
        self._paths: tuple[str, str] | None = None

    def _key(self, path: str) -> str | None:
        if self._paths is None:
            sample = reverse("incidents:status_incident", args=[SAMPLE_REFERENCE])
            self._paths = (
                reverse("incidents:status_page"),
                sample.removesuffix(f"{SAMPLE_REFERENCE}/"),
            )
        page, incidents = self._paths
        if path == page:
            return PAGE_KEY
        if path.startswith(incidents) and path.endswith("/"):
            match = REFERENCE_RE.match(path[len(incidents) : -1])
            if match is not None:
                return incident_key(int(match.group(1)))
        return None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            key = self._key(request.path)
            document = None if key is None else kept_document(key, gzip=accepts_gzip(request))
            if document is not None:
                response = document_response(request, document)
                response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
                return response
        return self.get_response(request)
