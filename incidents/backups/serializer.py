"""The backup's JSON: Django's own, with times to the microsecond.

Django's JSON encoder cuts a time to milliseconds (ECMA-262's format), so a backup lost the
microseconds of every timestamp, and a time whose microseconds were under a thousand came back
written differently ("10.000Z", then "10Z"). Registered as the serialization format
"backup-json" (SERIALIZATION_MODULES); its files are plain JSON that loaddata reads as such.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.serializers.json import Deserializer, DjangoJSONEncoder
from django.core.serializers.json import Serializer as JSONSerializer

__all__ = ["Deserializer", "Serializer"]


class FullPrecisionEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time):
            return o.isoformat()
        return super().default(o)


class Serializer(JSONSerializer):
    def serialize(self, queryset: Any, **options: Any) -> Any:
        # `cls` is the JSON serializer's documented option for the encoder; dumpdata passes none.
        options.setdefault("cls", FullPrecisionEncoder)
        return super().serialize(queryset, **options)
