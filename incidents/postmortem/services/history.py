"""What the history (simple-history) is told of writes it would miss on its own: a row changed
with .update(), whose signals never fire, and who acted when no request says so (the CLI, tasks).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import models

from incidents.models.base import MarkdownModel


def history_record(*, obj: models.Model, user: User | None) -> None:
    """Record the current state of a row written with .update(), which history signals miss.

    `obj` must already hold the new values (refresh_from_db after the update).
    """
    type(obj).history.bulk_history_create(  # type: ignore[attr-defined]  # added by simple-history, which ships no types
        [obj], update=True, default_user=user if user and user.is_authenticated else None
    )


def _acting(row: MarkdownModel, user: User | None) -> None:
    # simple-history takes the user from the request; outside one (CLI, tasks) from here.
    row._history_user = user if user is not None and user.is_authenticated else None  # type: ignore[attr-defined]  # added by simple-history, which ships no types
