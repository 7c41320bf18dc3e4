"""Template context every page gets: whether to show edit controls, and the navigation."""

from __future__ import annotations

from django.http import HttpRequest

from core.permissions import can_edit


def roles(request: HttpRequest) -> dict[str, bool]:
    """Template context: whether to show edit controls at all."""
    return {"can_edit": can_edit(request.user)}
