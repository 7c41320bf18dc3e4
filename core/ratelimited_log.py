"""A logger's warnings at most once a minute for each message.

A failure that repeats on every request (Redis down, and every visitor of the status page finds
it so) would write thousands of identical lines a minute and bury everything else. One line a
minute says as much; the next one says how many it held back meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    """Passes a message on to `logger` at most once per `seconds`, per message template.

    The clock is the wall clock (time.time), so tests move it with time-machine. A clock that
    went backwards logs at once rather than stay silent until it catches up.
    """

    def __init__(self, logger: logging.Logger, *, seconds: float = 60) -> None:
        self.logger = logger
        self.seconds = seconds
        self._lock = threading.Lock()
        # Per message template: when it was last logged, and how many were held back since.
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, message: str, *args: object) -> bool:
        """Log like Logger.warning, unless this message was logged within `seconds`; True if
        it was logged now."""
        now = time.time()
        with self._lock:
            last, held = self._last.get(message, (None, 0))
            if last is not None and 0 <= now - last < self.seconds:
                self._last[message] = (last, held + 1)
                return False
            self._last[message] = (now, 0)
        if held:
            self.logger.warning(f"{message} (%d more since)", *args, held)
        else:
            self.logger.warning(message, *args)
        return True
