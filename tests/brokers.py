"""A Redis that is down, in the two ways it goes down, for tests of what a request does then.

"Down" is both a port where nothing listens (refused at once) and one that accepts connections
but never answers (a wedged Redis, the case that used to hang requests).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from hindsight.celery import app


def refused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """Accepts connections (the kernel completes the handshake) and never reads or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@contextmanager
def broker_at(port: int) -> Iterator[None]:
    """This process publishes to a Redis at `port` (down), not eagerly, for the block."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    # celery-types make broker_url read-only; Celery's Settings take it like any other key.
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"  # type: ignore[misc]
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved  # type: ignore[misc]
