"""This app's field helpers. The strict fields and serializers themselves are the api floor's
(api/serializers.py), shared with the deployments API."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from api.serializers import (  # noqa: F401  (re-exported for this app's serializers)
    MAX_YEAR,
    MIN_YEAR,
    YEAR_PATTERN,
    BoundedDateField,
    BoundedDateTimeField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
    StrictSerializerSchema,
)

# The largest id PostgreSQL's integer columns hold; anything larger cannot name a row.
MAX_ID = 2_147_483_647
MARKDOWN_MAX_LENGTH = settings.HINDSIGHT_MARKDOWN_MAX_LENGTH


# --- Strict fields: JSON types are not coerced ----------------------------------------------
# StrictCharField (api.serializers) refuses non-strings and NUL; DRF's CharField lone surrogates.


def markdown_field(**kwargs: Any) -> StrictCharField:
    """Markdown as typed: whitespace kept, at most HINDSIGHT_MARKDOWN_MAX_LENGTH characters."""
    kwargs.setdefault("allow_blank", True)
    return StrictCharField(trim_whitespace=False, max_length=MARKDOWN_MAX_LENGTH, **kwargs)


def id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)
