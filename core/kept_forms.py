"""What someone typed into a form when their session had expired, kept until they log in again.

Without this, saving a long edit after the session ran out sent the person to the login page and
the text was gone. permission_required keeps the POST of a view marked `@keeps_typed_text` in
the (new, anonymous) session and sends them to log in with the form's own address as `next`;
Django's login keeps the session's data, so the form's GET finds the text with `form_kept()` and
shows it again, bound, for them to check and save. Kept for an hour at most, and for that form
only: a different page never sees it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, QueryDict

SESSION_KEY = "hindsight.kept_form"
KEPT_SECONDS = 3600


def keeps_typed_text(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose GET shows the form its POST saves: an expired session keeps the POST."""
    view.keeps_typed_text = True  # type: ignore[attr-defined]
    return view


def form_keep(request: HttpRequest) -> None:
    data = request.POST.copy()
    data.pop("csrfmiddlewaretoken", None)
    request.session[SESSION_KEY] = {
        "path": request.path,
        "data": {name: data.getlist(name) for name in data},
        "kept_at": time.time(),
    }


def form_kept(request: HttpRequest) -> QueryDict | None:
    """The data kept for this page's form, once; None when there is none."""
    kept = request.session.get(SESSION_KEY)
    if not kept or kept.get("path") != request.path:
        return None
    del request.session[SESSION_KEY]
    if time.time() - kept.get("kept_at", 0) > KEPT_SECONDS:
        return None
    data = QueryDict(mutable=True)
    for name, values in kept["data"].items():
        data.setlist(name, values)
    messages.info(
        request,
        "Here is what you typed before your session expired. Check it, then save it again.",
    )
    return data
