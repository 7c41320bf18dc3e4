"""Events the system side announces to the floors above it, without importing them.

deployments never imports incidents. When incidents must act on something that happened here
(a rollback was recorded, a production service kept failing), it subscribes from its
AppConfig.ready(), and the service that did the work calls `announce` inside its transaction.
A subscriber that raises rolls the whole write back: the event and its consequences land
together or not at all.

Events and their keyword arguments:
- "rollback_recorded": deployment (the new Deployment whose rollback_of is set).
- "health_changed": change (a HealthChange row, already saved).
- "health_failing": service, environment (or None), snapshots (the consecutive failing
  HealthSnapshot rows, oldest first); sent once per run of failures, when the run reaches
  HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

EVENTS = frozenset({"rollback_recorded", "health_changed", "health_failing"})

_subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def subscribe(event: str, handler: Callable[..., Any]) -> None:
    """Call `handler(**kwargs)` whenever `event` is announced. Subscribing twice is a no-op."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; known: {sorted(EVENTS)}.")
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def announce(event: str, **kwargs: Any) -> None:
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}; known: {sorted(EVENTS)}.")
    for handler in list(_subscribers[event]):
        handler(**kwargs)
