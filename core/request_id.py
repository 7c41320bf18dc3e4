"""A request id on every answer and every log line of the request (X-Request-Id).

The id comes from the request when a proxy or client sent a usable one, so one id follows a
request from the load balancer to Hindsight's logs and into a problem's `instance`; otherwise it
is a new uuid4. A sent id is used only when it is a short token of safe characters: it is
written into logs and headers, where anything else could forge lines or split headers.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-Id"
SENT_ID_RE = re.compile(r"^[A-Za-z0-9._:=+/-]{1,128}$")
NONE = "-"  # in log lines written outside any request (start-up, Celery, the dev server's log)

_current: ContextVar[str] = ContextVar("request_id", default=NONE)


def current_request_id() -> str:
    """The id of the request this code runs for, or "-" outside one."""
    return _current.get()


def request_id_of(request: HttpRequest) -> str:
    return getattr(request, "request_id", None) or current_request_id()


class RequestId:
    """First in the stack, so that every answer carries the header, even one a later
    middleware gives without calling a view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(HEADER, "")
        request_id = sent if SENT_ID_RE.match(sent) else str(uuid.uuid4())
        setattr(request, "request_id", request_id)  # noqa: B010  # HttpRequest declares no such field
        # Not reset on the way out: Django logs a 4xx or 5xx ("Not Found: ...") after the last
        # middleware returned, and that line is the request's too. request_finished clears it.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _forget(**kwargs: object) -> None:
    _current.set(NONE)


request_finished.connect(_forget, dispatch_uid="core.request_id.forget")


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id` for the format string (LOGGING in settings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True
