"""Strict fields and serializers: JSON types are not coerced, times stay within 1970-9999."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from api.serializers import (
    RejectUnknownFieldsMixin,
)

MANIFEST_MAX_FILES = 10_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# What the schema can say of the range: the year. (An offset can still push a time at the very
# edges out of range; the field says so then.)
YEAR_1970_TO_9999 = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"
PG_BIGINT_MAX = 2**63 - 1
PG_INT_MAX = 2**31 - 1
SHA256_RE = re.compile(r"[0-9a-f]{64}")
UNKNOWN_FIELD = "Unknown field."
PROBE_SCHEMES = ("http", "https")


# --- Strict fields ------------------------------------------------------------------------------


class _TextOnly:
    """For DRF's string fields: a number is not a string (CharField would take 42 as "42")."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictRegexField(_TextOnly, serializers.RegexField):
    pass


class StrictSlugField(_TextOnly, serializers.SlugField):
    pass


class StrictURLField(_TextOnly, serializers.URLField):
    """An http(s) URL: the only schemes the prober speaks."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if urlsplit(value).scheme.lower() not in PROBE_SCHEMES:
            raise ValidationError("Only http and https URLs are accepted.")
        return value


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    """An ISO 8601 string between 1970 and 9999 (in UTC); a time without an offset is read in
    the server's time zone (TIME_ZONE, UTC unless set)."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "range": "Enter a time between 1970-01-01 and 9999-12-31 (UTC).",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("help_text", "ISO 8601, from 1970 to 9999 (UTC).")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601, e.g. 2026-01-02T06:02:00Z")
        parsed = super().to_internal_value(value)
        try:
            in_utc = parsed.astimezone(UTC)
        except OverflowError:
            self.fail("range")
        if in_utc < EARLIEST:
            self.fail("range")
        # In UTC: PostgreSQL refuses offsets beyond about 16 hours, Python allows 24.
        return in_utc


class StrictDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = StrictDateTimeField

    def map_serializer_field(self, auto_schema, direction):
        return {**build_basic_type(OpenApiTypes.DATETIME), "pattern": YEAR_1970_TO_9999}


# --- Strict serializers ---------------------------------------------------------------------------


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Refuses keys it does not know, naming each, instead of dropping them in silence."""


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema says what the serializer does: a request with other keys is refused."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
