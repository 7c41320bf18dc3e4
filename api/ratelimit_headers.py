"""RateLimit headers on every API answer (api.ratelimit says what they mean).

Apart from api.ratelimit, which DRF's throttles import: this imports the problem answers, which
import DRF's views, which import the throttles.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.problems import problem_response
from api.ratelimit import (
    ANON,
    REQUEST_ATTRIBUTE,
    TOKEN,
    USER,
    Usage,
    client_address,
    count,
    header_values,
    policy,
    token_client,
)
from api.tokens import token_hash


def _client(request: HttpRequest, response: HttpResponse) -> tuple[str, str]:
    """Whom an answer the throttles never saw counts against: its token or person, unless it
    was refused as unauthenticated, which counts against its address (guessing tokens)."""
    if response.status_code != 401:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return TOKEN, token_client(token_hash(header[7:].strip()))
        if request.user.is_authenticated:
            return USER, f"user:{request.user.pk}"
    return ANON, f"address:{client_address(request)}"


class RateLimitHeaders:
    """Every answer under /api/ says where its client stands (RateLimit, RateLimit-Policy).

    An answer given before DRF's throttles ran (bad credentials, a token's scope, a URL that
    does not exist, an idempotent replay) is counted here: against the token or person, or,
    refused as unauthenticated, against the address, so guessing tokens is limited too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        usages: list[Usage] | None = getattr(request, REQUEST_ATTRIBUTE, None)
        if usages is None:
            name, client = _client(request, response)
            usage = count(policy(name), client)
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
            for header, value in header_values(usages).items():
                response[header] = value
        return response
