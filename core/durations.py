"""A span of time in words, one vocabulary for the pages and the messages people read."""

from __future__ import annotations

from datetime import timedelta


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


def duration_words(value: timedelta, *, about: bool = False) -> str:
    """ "16 minutes", "1 hour and 35 minutes", "7 hours", "3 days".

    Past six hours the minutes are noise to a reader, and past two days the hours. With
    `about`, as a message to users says it: "about 16 minutes", "less than a minute".
    """
    minutes = round(value.total_seconds() / 60)
    if minutes < 1:
        return "less than a minute" if about else "under a minute"
    if minutes < 60:
        words = _plural(minutes, "minute")
    else:
        hours, minutes = divmod(minutes, 60)
        if hours < 48:
            words = _plural(hours, "hour")
            if minutes and hours < 6:
                words += f" and {_plural(minutes, 'minute')}"
        else:
            words = _plural(round(hours / 24), "day")
    return f"about {words}" if about else words
