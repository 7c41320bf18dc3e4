"""Reading the incident's change history (written by django-simple-history) as a list of changes.

Kept apart from selectors.py because it turns raw history rows into before/after pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models

from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)

PARTS = (
    TimelineEvent,
    StatusItem,
    Cause,
    Lesson,
    ActionItem,
    SuccessCriterion,
    PathPriority,
    FinalNote,
)
# Bookkeeping that changes with every write and says nothing to a reader.
SKIPPED_FIELDS = {"id", "version", "number"}
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    when: datetime
    user: object | None
    action: str
    what: str
    label: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)


def _tracked(history_model: type[models.Model]) -> list[models.Field]:
    return [
        f
        for f in history_model._meta.fields
        if not f.name.startswith("history_") and f.name not in SKIPPED_FIELDS
    ]


def _shown(record: models.Model, f: models.Field) -> str:
    value = getattr(record, f.attname)
    if value is None or value == "":
        return "—"
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _label(record: models.Model) -> str:
    for name in ("title", "label", "text"):
        value = getattr(record, name, None)
        if value:
            return value if len(value) <= 80 else value[:77] + "…"
    return ""


def _changes(model: type[models.Model], records: list[models.Model]) -> list[Change]:
    fields = _tracked(model.history.model)
    verbose = str(model._meta.verbose_name)
    out: list[Change] = []
    previous: dict[int, models.Model] = {}
    for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        before = previous.get(record.id)
        diffs = []
        if record.history_type == "~" and before is not None:
            for f in fields:
                old, new = _shown(before, f), _shown(record, f)
                if old != new:
                    diffs.append((str(f.verbose_name), old, new))
            if not diffs:
                previous[record.id] = record
                continue
        out.append(
            Change(
                when=record.history_date,
                user=record.history_user,
                action=ACTIONS.get(record.history_type, record.history_type),
                what=verbose,
                label=_label(record),
                fields=diffs,
            )
        )
        previous[record.id] = record
    return out


def incident_history(incident: Incident, limit: int = 300) -> list[Change]:
    """Every recorded change to the incident and its parts, newest first.

    One query per kind of part, whatever the number of changes.
    """
    changes = _changes(
        Incident, list(Incident.history.filter(id=incident.pk).select_related("history_user"))
    )
    priority_ids: set[int] = set()
    for model in PARTS:
        records = list(model.history.filter(incident_id=incident.pk).select_related("history_user"))
        if model is PathPriority:
            priority_ids = {r.id for r in records}
        changes += _changes(model, records)
    changes += _changes(
        SolutionOption,
        list(
            SolutionOption.history.filter(priority_id__in=priority_ids).select_related(
                "history_user"
            )
        ),
    )
    changes.sort(key=lambda c: c.when, reverse=True)
    return changes[:limit]
