"""Strict fields and serializers: JSON types are not coerced, times stay within 1970-9999."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import (
    StrictCharField,
    StrictIntegerField,
)

# What every stored time and date must lie within: before 1970 is a typo or an epoch bug, and
# after 9999 does not survive a round trip through Python or the database.
MIN_YEAR = 1970
MAX_YEAR = 9999
# The largest id PostgreSQL's integer columns hold; anything larger cannot name a row.
MAX_ID = 2_147_483_647
MARKDOWN_MAX_LENGTH = settings.HINDSIGHT_MARKDOWN_MAX_LENGTH


def printable(text: str) -> str:
    """`text` safe to echo in a JSON answer: lone surrogates (legal in JSON input, not in
    UTF-8) become backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# --- Strict fields: JSON types are not coerced ----------------------------------------------
# StrictCharField (api.serializers) refuses non-strings and NUL; DRF's CharField lone surrogates.


def markdown_field(**kwargs: Any) -> StrictCharField:
    """Markdown as typed: whitespace kept, at most HINDSIGHT_MARKDOWN_MAX_LENGTH characters."""
    kwargs.setdefault("allow_blank", True)
    return StrictCharField(trim_whitespace=False, max_length=MARKDOWN_MAX_LENGTH, **kwargs)


def id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# Years 1970 to 9999, for the schema; the fields check the same (the date-time in UTC).
YEAR_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"


@extend_schema_field({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN})
class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time from 1970 to 9999 (in UTC). Without an offset it is read in the
    server's time zone (TIME_ZONE, UTC by default)."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date-time, e.g. 2026-01-02T06:02:00Z.",
        "out_of_range": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
        "overflow": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        try:
            year = parsed.astimezone(UTC).year
        except OverflowError:
            self.fail("out_of_range")
        if not MIN_YEAR <= year <= MAX_YEAR:
            self.fail("out_of_range")
        return parsed


@extend_schema_field({"type": "string", "format": "date", "pattern": YEAR_PATTERN})
class BoundedDateField(serializers.DateField):
    """An ISO 8601 date (YYYY-MM-DD) from 1970 to 9999."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date, e.g. 2026-01-31.",
        "out_of_range": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            self.fail("out_of_range")
        return parsed


# --- Strict serializers: unknown keys are an error, not silently dropped ---------------------


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, naming each, so a typo ("severty") is never a silent no-op.

    Keys that are only in the response (id, version, ...) count as unknown in a request.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {printable(str(name)): ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Says in the schema what StrictSerializer does: request bodies have no other keys."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
