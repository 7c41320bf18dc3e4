"""Who has an incident page open, and which part of it they are editing: in the cache only.

Each open page says so with every poll (presence_beat): one key per person and incident, which
expires HINDSIGHT_LIVE_PRESENCE_SECONDS after their page last asked, and a roster of who was
there, so a page can read them all without a key pattern (which the local-memory cache used in
development has not). Nothing here writes to the database. The cache failing (Redis down) only
hides who is there: every function answers as if nobody were, and the page keeps working; for
a while after a failure (core.redis_pause) without asking, so each poll does not wait out a
wedged Redis's timeouts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache

from core.redis_pause import redis_pause, redis_paused

log = logging.getLogger(__name__)

# The roster outlives the people in it; those whose own key expired are dropped when read.
_ROSTER_SECONDS = 3600


@dataclass(frozen=True, order=True)
class Present:
    username: str
    editing: str  # the part of the page being edited (its element id), "" for none


def _roster_key(incident_id: int) -> str:
    return f"live:roster:{incident_id}"


def _person_key(incident_id: int, user_id: int) -> str:
    return f"live:here:{incident_id}:{user_id}"


def presence_beat(*, incident_id: int, user: User, editing: str) -> None:
    """`user` has the page open now, editing `editing` ("" for nothing)."""
    if redis_paused():
        return
    try:
        cache.set(
            _person_key(incident_id, user.pk),
            (user.get_username(), editing),
            settings.HINDSIGHT_LIVE_PRESENCE_SECONDS,
        )
        roster = cache.get(_roster_key(incident_id)) or []
        if user.pk not in roster:
            cache.set(_roster_key(incident_id), [*roster, user.pk], _ROSTER_SECONDS)
    except Exception:  # any cache failure: presence is a courtesy, not a duty
        redis_pause()
        log.debug("presence not recorded", exc_info=True)


def presence_others(*, incident_id: int, user: User) -> list[Present]:
    """Everyone else with the page open, by name."""
    if redis_paused():
        return []
    try:
        roster: list[int] = cache.get(_roster_key(incident_id)) or []
        keys = {_person_key(incident_id, pk): pk for pk in roster}
        found = cache.get_many(list(keys))
        gone = [pk for key, pk in keys.items() if key not in found]
        if gone:
            # Rare (someone left): the roster stops growing with everyone who ever looked.
            cache.set(
                _roster_key(incident_id), [pk for pk in roster if pk not in gone], _ROSTER_SECONDS
            )
    except Exception:  # as above
        redis_pause()
        log.debug("presence not read", exc_info=True)
        return []
    return sorted(
        Present(username=name, editing=editing)
        for key, (name, editing) in found.items()
        if keys[key] != user.pk
    )
