"""X-Request-Id: on every answer, taken from the request when it is a safe token, in every log
line of the request and in a problem's `instance`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from core.request_id import RequestIdFilter, current_request_id
from tests.api.test_incidents_api import bearer
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    handler = Recorder()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4
    except ValueError:
        return False


@pytest.mark.parametrize("path", ["/login/", "/api/v1/incidents", "/status/", "/api/v1/nowhere"])
def test_every_answer_carries_a_new_uuid4_when_none_was_sent(client, path):
    response = client.get(path)
    assert is_uuid4(response["X-Request-Id"])


def test_two_requests_get_two_ids(client):
    assert client.get("/login/")["X-Request-Id"] != client.get("/login/")["X-Request-Id"]


@pytest.mark.parametrize(
    "sent", ["abc-123", "0b6f7a52-3c1e-4f7a-9d1b-2f6c8e4a9b10", "Root=1-67a/x+y"]
)
def test_a_safe_id_from_the_request_is_kept(client, sent):
    assert client.get("/login/", HTTP_X_REQUEST_ID=sent)["X-Request-Id"] == sent


@pytest.mark.parametrize(
    "sent", ["", "has space", "x" * 129, "line\nbreak", 'quote"', "ünicode", "a;b"]
)
def test_an_unsafe_or_overlong_id_is_replaced(client, sent):
    response = client.get("/login/", HTTP_X_REQUEST_ID=sent)
    assert is_uuid4(response["X-Request-Id"])


def test_a_problem_names_the_request_in_its_instance():
    api = bearer(user_with_role("viewer"), scope="read")
    response = api.get("/api/v1/incidents/INC-404", HTTP_X_REQUEST_ID="trace-42")
    assert response.status_code == 404
    assert response.json()["instance"] == "urn:hindsight:request:trace-42"
    assert response["X-Request-Id"] == "trace-42"


def test_a_problem_given_outside_drf_names_it_too():
    response = APIClient().get("/api/v1/nowhere", HTTP_X_REQUEST_ID="trace-43")
    assert response.status_code == 404
    assert response.json()["instance"] == "urn:hindsight:request:trace-43"


def test_the_log_lines_of_a_request_carry_its_id(client, recorder):
    response = client.get("/api/v1/nowhere")
    lines = [r for r in recorder.records if "Not Found" in r.getMessage()]
    assert lines, recorder.records
    assert {r.request_id for r in lines} == {response["X-Request-Id"]}


def test_outside_a_request_the_id_is_a_dash(client):
    client.get("/login/")
    assert current_request_id() == "-"


def test_the_console_lines_are_formatted_with_the_id(settings):
    console = settings.LOGGING["handlers"]["console"]
    assert "request_id" in console["filters"]
    assert "%(request_id)s" in settings.LOGGING["formatters"][console["formatter"]]["format"]
