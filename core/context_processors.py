"""Template context every page gets: whether to show edit controls, and the navigation."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from core.navigation import navigation_links
from core.permissions import can_edit


def roles(request: HttpRequest) -> dict[str, bool]:
    """Whether to show edit controls at all."""
    return {"can_edit": can_edit(request.user)}


def navigation(request: HttpRequest) -> dict[str, object]:
    """The main navigation's links, built only by the pages that draw them."""
    return {"navigation": SimpleLazyObject(lambda: navigation_links(request))}
