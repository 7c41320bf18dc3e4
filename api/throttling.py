"""The API's rate limits, as DRF throttles counting in api.ratelimit's shared counters.

Every request counts against one limit for its client: a token (API_THROTTLE_TOKEN, per token),
a signed-in person (API_THROTTLE_USER) or, without credentials, its address (API_THROTTLE_ANON).
Views with a `throttle_scope` count against that scope's rate too, per person.

While the counters cannot be reached, requests go through unthrottled and the failure is
logged once a minute (api.ratelimit.count): a limit is a guard against abuse, not a reason to
refuse everyone.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.request import Request

from api import ratelimit
from api.models import ApiToken


class _Shared(throttling.SimpleRateThrottle):
    """DRF's rate settings (THROTTLE_RATES, "60/min"), counted in api.ratelimit."""

    _wait: float | None = None

    def __init__(self) -> None:
        # SimpleRateThrottle reads one fixed rate here; these choose theirs per request.
        pass

    def check(self, request: Request, name: str, client: str) -> bool:
        rate = self.THROTTLE_RATES.get(name)
        if not rate:
            raise ImproperlyConfigured(f"No rate for {name!r} in DEFAULT_THROTTLE_RATES.")
        limit, window = ratelimit.parse_rate(rate)
        usage = ratelimit.count(ratelimit.Policy(name, limit, window), client)
        ratelimit.record(request._request, usage)
        if usage is None or not usage.exceeded:
            return True
        self._wait = usage.reset
        return False

    def wait(self) -> float | None:
        return self._wait


class ClientRateThrottle(_Shared):
    """One limit per token, per signed-in person, or per address."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiToken):
            return self.check(
                request, ratelimit.TOKEN, ratelimit.token_client(request.auth.key_hash)
            )
        if request.user.is_authenticated:
            return self.check(request, ratelimit.USER, f"user:{request.user.pk}")
        return self.check(request, ratelimit.ANON, f"address:{ratelimit.client_address(request)}")


class ScopedRateThrottle(throttling.ScopedRateThrottle, _Shared):
    """A view's own, stricter limit (`throttle_scope`), per person or per address."""

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, self.scope_attr, None)
        if not scope:
            return True
        if request.user.is_authenticated:
            return self.check(request, scope, f"user:{request.user.pk}")
        return self.check(request, scope, f"address:{ratelimit.client_address(request)}")
