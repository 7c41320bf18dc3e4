"""RateLimit headers on every API answer (api.ratelimit says what they mean).

Apart from api.ratelimit, which DRF's throttles import: this imports the problem answers, which
import DRF's views, which import the throttles.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.problems import problem_response
from api.ratelimit import (
    REQUEST_ATTRIBUTE,
    Usage,
    anonymous_policy,
    client_address,
    count,
    header_values,
)


class RateLimitHeaders:
    """Every answer under /api/ says where its client stands (RateLimit, RateLimit-Policy).

    An answer given before DRF's throttles ran (bad credentials, a token's scope, a URL that
    does not exist) counts against the client's address, so guessing tokens is limited too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        usages: list[Usage] | None = getattr(request, REQUEST_ATTRIBUTE, None)
        if usages is None:
            usage = count(anonymous_policy(), f"address:{client_address(request)}")
            usages = [usage] if usage is not None else []
            if usage is not None and usage.exceeded:
                response = problem_response(
                    request,
                    status_code=429,
                    problem_type="throttled",
                    detail=f"Too many requests; retry in {usage.reset} seconds.",
                    retry_after=usage.reset,
                )
                response["Retry-After"] = str(usage.reset)
        if usages:
            for name, value in header_values(usages).items():
                response[name] = value
        return response
