"""Serializer pieces that refuse what DRF quietly coerces or drops."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import Direction, extend_schema_field
from rest_framework import serializers

# What every stored time and date must lie within: before 1970 is a typo or an epoch bug, and
# after 9999 does not survive a round trip through Python or the database.
MIN_YEAR = 1970
MAX_YEAR = 9999
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
# What the schema can say of the range: the year. (An offset can still push a time at the very
# edges out of range; the field says so then.)
YEAR_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"


class StrictCharField(serializers.CharField):
    """Text only: a number is not silently turned into a string, and NUL bytes are refused
    (PostgreSQL cannot store them, and no person typed one)."""

    default_error_messages = {
        "not_a_string": "Must be a string.",
        "nul": "Must not contain NUL bytes.",
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        if "\x00" in data:
            self.fail("nul")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, spelled exactly; the refusal lists them and never echoes the input."""

    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        if isinstance(data, str) and data in self.choice_strings_to_values:
            return self.choice_strings_to_values[data]
        self.fail("invalid_choice", choices=", ".join(map(str, self.choices)))


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false; "yes", 1 and "true" are refused."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "12", 12.0 and true are refused."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

    # What the mixin is mixed into, for the type checker; at run time it stays a plain mixin.
    _SerializerBase = serializers.Serializer
else:
    _SerializerBase = object


class RejectUnknownFieldsMixin(_SerializerBase):
    """A field the client sent that the serializer doesn't know is an error, not ignored:
    a typo like `titel` would otherwise save nothing and report success. Keys that are only in
    the response (id, version, ...) count as unknown in a request."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {printable_key(str(name)): ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Refuses keys it does not know, naming each, instead of dropping them in silence."""


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema says what the serializer does: a request with other keys is refused."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


@extend_schema_field({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN})
class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time string from 1970 to 9999, returned in UTC. Without an offset it is
    read in the server's time zone (TIME_ZONE, UTC by default)."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date-time, e.g. 2026-01-02T06:02:00Z.",
        "out_of_range": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
        "overflow": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("help_text", f"ISO 8601, from {MIN_YEAR} to {MAX_YEAR} (UTC).")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        try:
            in_utc = parsed.astimezone(UTC)
        except OverflowError:
            self.fail("out_of_range")
        if not MIN_YEAR <= in_utc.year <= MAX_YEAR:
            self.fail("out_of_range")
        # In UTC: PostgreSQL refuses offsets beyond about 16 hours, Python allows 24.
        return in_utc


@extend_schema_field({"type": "string", "format": "date", "pattern": YEAR_PATTERN})
class BoundedDateField(serializers.DateField):
    """An ISO 8601 date (YYYY-MM-DD) from 1970 to 9999."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date, e.g. 2026-01-31.",
        "out_of_range": f"Must be between {MIN_YEAR} and {MAX_YEAR}.",
    }

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            self.fail("out_of_range")
        return parsed


def printable_key(name: str) -> str:
    """A client's key as text that can always be encoded back (lone surrogates escaped)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")
