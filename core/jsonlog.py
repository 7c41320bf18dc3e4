"""Logs as JSON lines (LOG_FORMAT=json, the default when DEBUG is off): one object a line, which
log collectors read without a parsing rule per message."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from core.request_id import NONE as NO_REQUEST

# A record's own attributes; anything else on it came from `extra=` or a filter.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """time, level, logger, message, request_id when the line was written for a request
    (core.request_id's filter sets it, "-" outside one), then any `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id not in (None, NO_REQUEST):
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a request or a model instance passed in `extra=` still logs, as text.
        return json.dumps(entry, default=str, ensure_ascii=False)
