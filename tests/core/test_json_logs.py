"""LOG_FORMAT=json: one JSON object a line, with the request id when a filter put one on."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from django.test import Client

from core.jsonlog import JsonLinesFormatter
from core.request_id import RequestIdFilter


def record(
    message: str = "Sent 3 emails", *args: object, **attributes: object
) -> logging.LogRecord:
    made = logging.LogRecord("hindsight.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in attributes.items():
        setattr(made, key, value)
    return made


def test_a_record_is_one_line_of_json_with_time_level_logger_and_message() -> None:
    line = JsonLinesFormatter().format(record())
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "hindsight.test"
    assert entry["message"] == "Sent 3 emails"
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in entry


def test_the_request_id_a_filter_set_is_a_key_of_its_own() -> None:
    entry = json.loads(JsonLinesFormatter().format(record(request_id="5f0c2a")))
    assert entry["request_id"] == "5f0c2a"


def test_a_line_written_outside_any_request_has_no_request_id() -> None:
    entry = json.loads(JsonLinesFormatter().format(record(request_id="-")))
    assert "request_id" not in entry


@pytest.mark.django_db
def test_a_line_written_during_a_request_carries_its_id() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonLinesFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = Client().get("/no-such-page/", HTTP_X_REQUEST_ID="probe-7")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    entry = json.loads(out.getvalue().splitlines()[-1])
    assert entry["message"] == "Not Found: /no-such-page/"
    assert entry["request_id"] == "probe-7"


def test_extra_values_are_kept_and_objects_are_written_as_text() -> None:
    entry = json.loads(JsonLinesFormatter().format(record(status_code=500, request=object())))
    assert entry["status_code"] == 500
    assert entry["request"].startswith("<object object")


def test_an_exception_keeps_its_traceback_inside_the_one_line() -> None:
    try:
        raise ValueError("no such incident")
    except ValueError:
        failed = record(exc_info=sys.exc_info())
    line = JsonLinesFormatter().format(failed)
    assert "\n" not in line
    assert "ValueError: no such incident" in json.loads(line)["exception"]


def test_text_that_is_not_ascii_stays_readable() -> None:
    entry = json.loads(JsonLinesFormatter().format(record("Panne résolue")))
    assert entry["message"] == "Panne résolue"
