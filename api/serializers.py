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


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, spelled exactly; the refusal lists them and never echoes the input."""

    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def to_internal_value(self, data):
        if isinstance(data, str) and data in self.choice_strings_to_values:
            return self.choice_strings_to_values[data]
        self.fail("invalid_choice", choices=", ".join(map(str, self.choices)))


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false; "yes", 1 and "true" are refused."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "12", 12.0 and true are refused."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
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
