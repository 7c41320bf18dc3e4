"""The conflict policy's shared pieces, for the incident row and the sections' rows alike: what a
stale write raises, the text shape in which an editor's starting values are kept and compared
(comparable), and how often a write that lost a race is judged again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import models


class StaleVersion(Exception):
    """Someone else saved the incident first. Carries the version that is current now, and the
    fields that both changed when the caller said what it started from (else empty)."""

    what = "incident"

    def __init__(self, *, current_version: int | None, fields: Sequence[str] = ()):
        self.current_version = current_version
        self.fields = list(fields)
        super().__init__(
            f"The {self.what} changed meanwhile; it is now at version {current_version}."
        )


class StaleRow(StaleVersion):
    """Someone else saved a row of a section first (part_save, part_delete). `current_version`
    is None when the row is gone."""

    what = "row"


def comparable(value: Any) -> str:
    """A field's value as text that survives a round trip through a form: what an editor started
    from is kept in this shape, and compared in it."""
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return str(value.pk)
    if isinstance(value, datetime) and value.tzinfo is not None:
        # One instant, one text, whichever zone the form or the database handed it back in.
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def comparable_values(obj: models.Model, names: Iterable[str]) -> dict[str, str]:
    """comparable() of each named field; a relation by its id, without loading what it names."""
    values = {}
    for name in names:
        field = obj._meta.get_field(name)
        attname = field.attname if isinstance(field, models.ForeignKey) else name
        values[name] = comparable(getattr(obj, attname))
    return values


# How often a transition is judged again after losing a race; more than a few losses in a row
# means a runaway client, not contention.
TRANSITION_ATTEMPTS = 3
