"""The Markdown preview beside every text box, which keeps working while a session runs out."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from core.http import AuthenticatedHttpRequest, HtmxHttpRequest
from core.permissions import editor_required
from core.rendering import render as render_markdown
from incidents.postmortem.views._common import UNPROCESSABLE


def _stays_put_when_logged_out(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """The preview asks by itself while someone types. When their session has run out it must
    not send the page to the login, which would take the text they are typing with it: it
    says so where the preview goes, and their save keeps the text (core.kept_forms)."""

    @functools.wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            return HttpResponse(
                '<p class="error">Your session has expired, so there is no preview. Save when '
                "you are done: what you typed is kept while you log in again.</p>"
            )
        return view(request, *args, **kwargs)

    return wrapper


@require_POST
@_stays_put_when_logged_out
@editor_required
def markdown_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The one renderer, round-tripped: what a field will look like once saved.

    htmx posts the whole form; ?field= names the box to preview.
    """
    text = request.POST.get(request.GET.get("field", ""), "")
    if len(text) > settings.HINDSIGHT_MARKDOWN_MAX_LENGTH:
        return HttpResponse('<p class="error">Too long to preview.</p>', status=UNPROCESSABLE)
    try:
        html = render_markdown(text)
    except ValidationError as refused:  # saving it would be refused the same way
        return HttpResponse(
            format_html('<p class="error">{}</p>', " ".join(refused.messages)),
            status=UNPROCESSABLE,
        )
    return HttpResponse(html or '<p class="empty">Nothing to preview yet.</p>')
