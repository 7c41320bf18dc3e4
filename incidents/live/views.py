"""What an open incident page polls, and the changed parts it then fetches.

The state answers 304 while nothing changed: its ETag is the page's change counter with a digest
of who else is there, so an unchanged poll costs the one query that reads the counter (besides
the login's own) and a few cache reads. When it changed, the answer lists every part's last
change, and the page fetches the parts that changed since it last looked, in one request.
"""

from __future__ import annotations

import hashlib

from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from django.views.decorators.http import require_GET

from core.http import AuthenticatedHttpRequest
from core.permissions import login_required
from incidents.live import selectors
from incidents.live.presence import Present, presence_beat, presence_others
from incidents.live.services import DRAFT, DUPLICATE, VISIBILITY
from incidents.models import Incident
from incidents.postmortem import selectors as postmortem_selectors
from incidents.postmortem.views import FRAGMENTS, document_context

# Every part of the page that can be fetched again on its own, by element id.
LIVE_PARTS = {
    **FRAGMENTS,
    VISIBILITY: ("incidents/prose/_visibility.html", {}),
    DUPLICATE: ("incidents/prose/_duplicate.html", {}),
    DRAFT: ("incidents/drafting/_panel.html", {}),
}
# Asked for at once, a handful at most in practice; more is a malformed request.
_MAX_PARTS = len(LIVE_PARTS)


def _etag(serial: int, others: list[Present]) -> str:
    people = "|".join(f"{p.username}:{p.editing}" for p in others)
    return f'"{serial}.{hashlib.sha1(people.encode()).hexdigest()[:12]}"'


def _private(response: HttpResponse) -> HttpResponse:
    # Never stored: the answer is this person's (who else is there) and changes any second.
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@login_required
def live_state(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    found = selectors.page_serial(reference)
    if found is None:
        raise Http404(f"No incident {reference}.")
    incident_id, serial = found
    editing = request.GET.get("editing", "")
    presence_beat(
        incident_id=incident_id, user=request.user, editing=editing if editing in LIVE_PARTS else ""
    )
    others = presence_others(incident_id=incident_id, user=request.user)
    etag = _etag(serial, others)
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponse(status=304)
    else:
        me = request.user.get_username()
        marks = selectors.part_marks(incident_id)
        response = JsonResponse(
            {
                "serial": serial,
                "parts": {
                    name: {"serial": mark.serial, "by": mark.by, "mine": mark.by == me}
                    for name, mark in marks.items()
                },
                "present": [{"username": p.username, "editing": p.editing} for p in others],
            }
        )
    response["ETag"] = etag
    return _private(response)


@require_GET
@login_required
def live_parts(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The named parts of the page as they are now, one after another, from one read of the
    document."""
    names = [name for name in dict.fromkeys(request.GET.getlist("name")) if name in LIVE_PARTS]
    if not names or len(names) > _MAX_PARTS:
        return HttpResponse("Name the parts of the page to fetch.", status=400)
    try:
        incident = postmortem_selectors.incident_document(reference)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None
    context = document_context(incident)
    html = "".join(
        render_to_string(LIVE_PARTS[name][0], {**context, **LIVE_PARTS[name][1]}, request=request)
        for name in names
    )
    return _private(HttpResponse(html))
