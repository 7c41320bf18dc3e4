"""Serializer pieces that refuse what DRF quietly coerces or drops."""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """Text only: a number is not silently turned into a string, and NUL bytes are refused
    (PostgreSQL cannot store them, and no person typed one)."""

    default_error_messages = {
        "not_a_string": "Must be a string.",
        "nul": "Must not contain NUL bytes.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        if "\x00" in data:
            self.fail("nul")
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """A field the client sent that the serializer doesn't know is an error, not ignored:
    a typo like `titel` would otherwise save nothing and report success."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {printable_key(name): ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)


def printable_key(name: str) -> str:
    """A client's key as text that can always be encoded back (lone surrogates escaped)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")
