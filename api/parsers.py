"""The API's JSON parser: strict where Python's json module is lenient."""

from __future__ import annotations

import codecs
import json
from collections import Counter
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant


class DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of a repeated key; a client that sent two values for one field meant
    # one of them, and guessing which would silently drop the other.
    data = dict(pairs)
    if len(data) != len(pairs):
        counts = Counter(key for key, _value in pairs)
        repeated = next(key for key, count in counts.items() if count > 1)
        raise DuplicateKey(f"the key {repeated!r} appears twice in one object")
    return data


class SafeJSONParser(JSONParser):
    """JSON nested deeper than Python's stack, and an object with a repeated key, are bad
    requests (400), not a crash and not a silent choice of one value."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=strict_constant,
                object_pairs_hook=_object_without_duplicates,
            )
        except RecursionError:
            raise ParseError("The JSON is nested too deeply.") from None
        except ValueError as error:  # also UnicodeDecodeError and DuplicateKey
            raise ParseError(f"JSON parse error - {error}") from None
