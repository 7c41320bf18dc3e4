"""Every API error is an RFC 9457 problem: application/problem+json with a stable `type`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.request_id import request_id_of

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:hindsight:problem:"
INSTANCE_PREFIX = "urn:hindsight:request:"


def problem_instance(request: HttpRequest) -> str:
    """This occurrence of the problem: the request's id, which the logs and X-Request-Id carry
    too, so a client's report of a problem leads to the server's lines about it."""
    return INSTANCE_PREFIX + request_id_of(request)


class Problem(exceptions.APIException):
    """An API error with its own problem type and any extra members for the body."""

    problem_type = "error"

    def __init__(self, detail: str, *, status_code: int, problem_type: str, **extra: Any):
        super().__init__(detail)
        self.status_code = status_code
        self.problem_type = problem_type
        self.extra = extra


# DRF's exceptions, each with the stable type clients switch on.
_TYPES: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ValidationError: ("validation-error", "The request has invalid fields."),
    exceptions.ParseError: ("malformed-request", "The request body could not be parsed."),
    exceptions.UnsupportedMediaType: ("unsupported-media-type", "Unsupported media type."),
    exceptions.NotAuthenticated: ("not-authenticated", "Authentication is required."),
    exceptions.AuthenticationFailed: ("authentication-failed", "The credentials were refused."),
    exceptions.PermissionDenied: ("permission-denied", "You may not do this."),
    exceptions.NotFound: ("not-found", "Not found."),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed."),
    exceptions.NotAcceptable: ("not-acceptable", "Cannot answer in an acceptable format."),
    exceptions.Throttled: ("throttled", "Too many requests."),
}


def problem_body(
    *, status_code: int, problem_type: str, title: str, detail: str, instance: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": TYPE_PREFIX + problem_type,
        "title": title,
        "status": status_code,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def problem_response(
    request: HttpRequest, *, status_code: int, problem_type: str, detail: str, **extra: Any
) -> JsonResponse:
    """A problem answered outside DRF (middleware, URL-level 404s)."""
    return JsonResponse(
        problem_body(
            status_code=status_code,
            problem_type=problem_type,
            title=detail,
            detail=detail,
            instance=problem_instance(request),
            **extra,
        ),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context["request"]
    if isinstance(exc, DjangoValidationError):
        # A service refused the write (a model rule): the same shape as a serializer's errors.
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    # DRF answers only its own exceptions; the isinstance() tells the type checker so.
    if response is None or not isinstance(exc, exceptions.APIException):
        return None  # a 500: Django's handler reports it

    extra: dict[str, Any] = {}
    if isinstance(exc, Problem):
        problem_type, title = exc.problem_type, str(exc.detail)
        extra = exc.extra
        detail = str(exc.detail)
    else:
        problem_type, title = next(
            (t for cls, t in _TYPES.items() if isinstance(exc, cls)),
            ("error", "The request failed."),
        )
        if isinstance(exc, exceptions.ValidationError):
            detail = "See `errors` for what to fix."
            extra["errors"] = (
                exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            )
        else:
            detail = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else title
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:  # type: ignore[attr-defined]  # drf-stubs lack Throttled.wait
        extra["retry_after"] = int(exc.wait)  # type: ignore[attr-defined]  # as above

    response.data = problem_body(
        status_code=response.status_code,
        problem_type=problem_type,
        title=title,
        detail=detail,
        instance=problem_instance(request),
        **extra,
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _not_found(request: HttpRequest) -> JsonResponse:
    return problem_response(
        request,
        status_code=status.HTTP_404_NOT_FOUND,
        problem_type="not-found",
        detail="Not found.",
    )


def _refused(request: HttpRequest, exception: Exception) -> JsonResponse:
    """What an exception Django turns into a 400 (a SuspiciousOperation) is, as a problem."""
    if isinstance(exception, RequestDataTooBig):
        return problem_response(
            request,
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            problem_type="body-too-large",
            detail="The request body is larger than this server accepts.",
        )
    return problem_response(
        request, status_code=400, problem_type="malformed-request", detail="Bad request."
    )


@csrf_exempt  # a POST to a URL that does not exist is a 404, whatever its cookies
def unknown_api_url(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Everything under /api/v1/ that no route took: a problem 404 under DEBUG too, where
    Django would otherwise answer its HTML debug page instead of calling handler404."""
    return _not_found(request)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """URL-level 404 under /api/ as a problem; everywhere else Django's page."""
    if _is_api(request):
        return _not_found(request)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """URL-level 400s under /api/ (an oversized body, a malformed request) as problems."""
    if _is_api(request):
        return _refused(request, exception)
    return django_bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 under /api/ as a problem (with DEBUG off; on, Django's traceback page helps more)."""
    if _is_api(request):
        return problem_response(
            request,
            status_code=500,
            problem_type="server-error",
            detail="The server failed to answer. The request id names it in the server's logs.",
        )
    return django_server_error(request)


class ApiErrorsAsProblems:
    """Under /api/, what a view raises that Django itself would answer (a 404, an oversized or
    suspicious request, a refusal) is a problem in every mode. With DEBUG on, Django answers
    these with its HTML debug pages and never calls handler404 or handler400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request):
            return None
        if isinstance(exception, Http404):
            return _not_found(request)
        if isinstance(exception, SuspiciousOperation):
            return _refused(request, exception)
        if isinstance(exception, DjangoPermissionDenied):
            return problem_response(
                request,
                status_code=403,
                problem_type="permission-denied",
                detail=str(exception) or "You may not do this.",
            )
        return None  # a 500: Django's handler logs and reports it
