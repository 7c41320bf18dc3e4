"""A process's memory that Redis failed a moment ago, shared by everything that asks it.

One REDIS_URL feeds the broker and the cache. When Redis is down, each thing a request asks of
it (a rate limit count, a task's quick publish, who else has the page open) fails only after its
socket timeout, and a write asks several: with Redis wedged, their timeouts added up to over a
second. The first failure pauses asking for PAUSE_SECONDS, during which each of them takes its
way around Redis at once (let the request through uncounted, leave the task to the outbox relay,
show nobody else there); then one request tries again.
"""

from __future__ import annotations

import time

# Long enough that a down Redis costs one timeout per process now and then; short enough that,
# once it is back, counting and quick publishing resume within a beat of the outbox relay.
PAUSE_SECONDS = 10.0

_paused_until = 0.0  # time.monotonic() of this process


def redis_paused() -> bool:
    """True while a recent failure says not to ask Redis."""
    return time.monotonic() < _paused_until


def redis_pause() -> None:
    """Redis just failed: stop asking it for PAUSE_SECONDS."""
    global _paused_until
    _paused_until = time.monotonic() + PAUSE_SECONDS
