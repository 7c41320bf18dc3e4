"""Strict fields and serializers: JSON types are not coerced, times stay within 1970-9999."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from api.serializers import (  # noqa: F401  (re-exported for this app's serializers)
    EARLIEST,
    YEAR_PATTERN,
    StrictSerializer,
)

MANIFEST_MAX_FILES = 10_000
PG_BIGINT_MAX = 2**63 - 1
PG_INT_MAX = 2**31 - 1
SHA256_RE = re.compile(r"[0-9a-f]{64}")
UNKNOWN_FIELD = "Unknown field."
PROBE_SCHEMES = ("http", "https")


# --- Strict fields ------------------------------------------------------------------------------


if TYPE_CHECKING:
    # What _TextOnly is mixed into, for the type checker; at run time it stays a plain mixin.
    _CharFieldBase = serializers.CharField
else:
    _CharFieldBase = object


class _TextOnly(_CharFieldBase):
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
