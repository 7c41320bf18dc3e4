"""Deleting an incident from the admin: what goes with it, counted in the words of its page for
the confirmation (which also says the deletion is logged)."""

from __future__ import annotations

from typing import Any

from incidents.models import (
    ActionItem,
    Attachment,
    Cause,
    Communication,
    Delivery,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)

# What goes with an incident, in the words of its page and in its order: (one, several).
_GOES_WITH_IT: tuple[tuple[type[Any], str, str], ...] = (
    (TimelineEvent, "timeline event", "timeline events"),
    (StatusItem, "status line", "status lines"),
    (Cause, "cause", "causes"),
    (Lesson, "lesson", "lessons"),
    (ActionItem, "action item", "action items"),
    (PathPriority, "path forward priority", "path forward priorities"),
    (SolutionOption, "solution option", "solution options"),
    (SuccessCriterion, "success criterion", "success criteria"),
    (FinalNote, "final note", "final notes"),
    (Communication, "message (drafted, approved or sent)", "messages (drafted, approved or sent)"),
    (Delivery, "delivery of those messages", "deliveries of those messages"),
    (Attachment, "attached file", "attached files"),
)


def deletion_counts(model_count: dict[str, int]) -> dict[str, int]:
    """Django's count per model of what a deletion takes, in plain words ("3 causes"), in the
    page's order. The incidents themselves are named apart; their authors (a link, not
    something anyone wrote) and anything else unknown keep Django's own names."""
    plain: dict[str, int] = {}
    known = {str(Incident._meta.verbose_name_plural)}
    for model, one, several in _GOES_WITH_IT:
        name = str(model._meta.verbose_name_plural)
        known.add(name)
        count = model_count.get(name, 0)
        if count:
            plain[one if count == 1 else several] = count
    authors = str(Incident.authors.through._meta.verbose_name_plural)
    for name, count in model_count.items():
        if name not in known and name != authors:
            plain[name] = count
    return plain
