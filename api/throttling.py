"""The API's rate limits, failing open when the shared cache does.

DRF's throttles count requests in Django's cache (Redis in production). With Redis down every
throttled request would answer 500, so the API would go down with the cache. A rate limit is a
guard against abuse, not a reason to refuse everyone: while the cache fails, requests go through
unthrottled, and the failure is logged once a minute (core.ratelimited_log), not per request.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import throttling
from rest_framework.request import Request

from core.ratelimited_log import RateLimitedLog

logger = logging.getLogger(__name__)
trouble = RateLimitedLog(logger, seconds=60)


class _FailOpen(throttling.SimpleRateThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as error:  # whatever the backend raises; Redis raises its own errors
            trouble.warning(
                "API rate limits: the cache failed, letting requests through: %s: %s",
                type(error).__name__,
                error,
            )
            return True


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(_FailOpen, throttling.ScopedRateThrottle):
    pass
