"""Reads of the post-mortem: the incident as a document, and its change history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import models
from django.db.models import (
    Prefetch,
)

from deployments.models import Deployment, Service
from incidents.communications.selectors import communications_with_progress
from incidents.models import (
    ActionItem,
    Cause,
    ExternalReference,
    FinalNote,
    Incident,
    IncidentLabel,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)


def incident_document(reference: str | int, *, timeline_limit: int | None = None) -> Incident:
    """One incident with every section of its post-mortem prefetched, in reading order.

    The query count is fixed: one per section, whatever the number of rows in it. With
    `timeline_limit`, only the latest that many timeline events are read (a timeline grows
    without bound; the API lists the rest apart): they are `embedded_timeline`, in time order,
    and `timeline_truncated` says whether older ones exist. Raises Incident.DoesNotExist.
    """
    user_model = get_user_model()
    sections: list[str | Prefetch] = [
        Prefetch("authors", queryset=user_model.objects.order_by(user_model.USERNAME_FIELD)),
        "status_items",
        Prefetch("causes", queryset=Cause.objects.select_related("deployment__environment")),
        "lessons",
        Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
        "success_criteria",
        Prefetch("priorities", queryset=PathPriority.objects.prefetch_related("options")),
        "final_notes",
        Prefetch("communications", queryset=communications_with_progress()),
        "labels",
        "external_references",
    ]
    events = TimelineEvent.objects.select_related("deployment", "created_by")
    if timeline_limit is None:
        sections.append(Prefetch("timeline_events", queryset=events))
    incident = (
        Incident.objects.select_related("service", "created_by", "duplicate_of", "public_by")
        .prefetch_related(*sections)
        .by_reference(reference)
    )
    if timeline_limit is not None:
        latest = list(
            events.filter(incident=incident).order_by("-occurred_at", "-id")[: timeline_limit + 1]
        )
        incident.timeline_truncated = len(latest) > timeline_limit  # type: ignore[attr-defined]  # for the serializer
        incident.embedded_timeline = latest[:timeline_limit][::-1]  # type: ignore[attr-defined]  # as above
    return incident


# How far apart a page's ids may lie for its labels and references to be read by the range of
# its ids: at most this many ids in the range per incident on the page.
DENSE_PAGE = 2


def incident_labels_and_references(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add `labels` and `external_references` to a page of `.values()` rows (each with its
    `id`): two queries for the page, whatever its length, by the incidents' ids (no join).

    A page's ids usually lie close together (incidents are declared in the order they start,
    and lists are newest first). Such a page is read by the range from its lowest id to its
    highest, and the rows of incidents in between that are not on it are dropped here: a
    hundred ids in an IN list cost Django a third of each query to prepare, a range two
    parameters. The range holds at most DENSE_PAGE times the page's incidents, so its rows
    stay about the page's. A page whose ids are spread out (another order, history imported
    later) is read by its ids, compared as the incident's own integers (`incident__id__in`,
    the same SQL as `incident_id__in`, which also normalizes each id as if it were an incident).
    """
    ids = [row["id"] for row in rows]
    labels: dict[int, list[str]] = {pk: [] for pk in ids}
    references: dict[int, list[dict[str, str]]] = {pk: [] for pk in ids}
    if ids:
        low, high = min(ids), max(ids)
        page = (
            models.Q(incident__id__range=(low, high))
            if high - low < DENSE_PAGE * len(ids)
            else models.Q(incident__id__in=ids)
        )
        for pk, name in IncidentLabel.objects.filter(page).values_list("incident_id", "name"):
            if pk in labels:
                labels[pk].append(name)
        for pk, source, key, url in ExternalReference.objects.filter(page).values_list(
            "incident_id", "source", "key", "url"
        ):
            if pk in references:
                references[pk].append({"source": source, "key": key, "url": url})
    for row in rows:
        row["labels"] = labels[row["id"]]
        row["external_references"] = references[row["id"]]
    return rows


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
    # The fields that changed, with the records before and after, until they are shown.
    changed: list[tuple[models.Field, models.Model, models.Model]] = field(default_factory=list)


def _tracked(history_model: type[models.Model]) -> list[models.Field]:
    return [
        f
        for f in history_model._meta.fields
        if not f.name.startswith("history_") and f.name not in SKIPPED_FIELDS
    ]


# What a relation names, by model and id: people by username, other rows by their title.
Labels = dict[tuple[type[models.Model], Any], str]


def _related(f: models.Field) -> type[models.Model] | None:
    # The historical copy of a foreign key is a ForeignKey too, pointing at the live model.
    if isinstance(f, models.ForeignKey):
        related = f.related_model
        assert isinstance(related, type)  # resolved once the apps are loaded
        return related
    return None


def _label_of(obj: models.Model) -> str:
    if isinstance(obj, AbstractBaseUser):
        return obj.get_username()
    return str(obj)


def _labels(wanted: dict[type[models.Model], set[Any]]) -> Labels:
    """One query per kind of row named, whatever the number of changes naming them."""
    labels: Labels = {}
    for model, ids in wanted.items():
        rows = model._default_manager.filter(pk__in=ids)
        if model is Deployment:
            rows = rows.select_related("environment__service")
        for obj in rows:
            labels[model, obj.pk] = _label_of(obj)
        for missing in ids - {pk for m, pk in labels if m is model}:
            labels[model, missing] = f"(a deleted {model._meta.verbose_name})"
    return labels


def _shown(record: models.Model, f: models.Field, labels: Labels | None = None) -> str:
    value = getattr(record, f.attname)
    if value is None or value == "":
        return "—"
    related = _related(f)
    if related is not None:
        # Never the bare id ("done by 2"): the person or row it names.
        return (labels or {}).get((related, value), f"(a {related._meta.verbose_name})")
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


def _changes(
    model: type[models.Model], records: list[Any], wanted: dict[type[models.Model], set[Any]]
) -> list[Change]:
    """Each record against the one before it. A field that names another row is kept as
    (field, old id, new id) and added to `wanted`, to be named by _name_relations()."""
    # `history` and the historical records come from simple-history, which ships no types.
    fields = _tracked(model.history.model)  # type: ignore[attr-defined]
    verbose = str(model._meta.verbose_name)
    out: list[Change] = []
    previous: dict[int, models.Model] = {}
    for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        before = previous.get(record.id)
        diffs: list[tuple[models.Field, models.Model, models.Model]] = []
        if record.history_type == "~" and before is not None:
            for f in fields:
                related = _related(f)
                if related is not None:
                    old_id, new_id = getattr(before, f.attname), getattr(record, f.attname)
                    if old_id != new_id:
                        wanted.setdefault(related, set()).update({old_id, new_id} - {None})
                        diffs.append((f, before, record))
                elif _shown(before, f) != _shown(record, f):
                    diffs.append((f, before, record))
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
                changed=diffs,
            )
        )
        previous[record.id] = record
    return out


def _name_relations(changes: list[Change], labels: Labels) -> None:
    for change in changes:
        change.fields = [
            (str(f.verbose_name), _shown(before, f, labels), _shown(after, f, labels))
            for f, before, after in change.changed
        ]


def incident_history(incident: Incident, limit: int = 300) -> list[Change]:
    """Every recorded change to the incident and its parts, newest first.

    One query per kind of part, and one per kind of row the changes name (people, deployments,
    parent rows), whatever the number of changes. A field that names another row shows what
    it names, as the page does: a person by username, a row by its title.
    """
    wanted: dict[type[models.Model], set[Any]] = {}
    changes = _changes(
        Incident,
        list(Incident.history.filter(id=incident.pk).select_related("history_user")),
        wanted,
    )
    priority_ids: set[int] = set()
    for model in PARTS:
        records = list(model.history.filter(incident_id=incident.pk).select_related("history_user"))
        if model is PathPriority:
            priority_ids = {r.id for r in records}
        changes += _changes(model, records, wanted)
    changes += _changes(
        SolutionOption,
        list(
            SolutionOption.history.filter(priority_id__in=priority_ids).select_related(
                "history_user"
            )
        ),
        wanted,
    )
    changes.sort(key=lambda c: c.when, reverse=True)
    changes = changes[:limit]
    _name_relations(changes, _labels(wanted))
    return changes


# How long a second declaration of the same incident by the same person is taken for a repeat.
DECLARED_AGAIN_WITHIN = timedelta(minutes=15)


def incident_declared_already(
    *,
    user: User,
    service: Service,
    title: str,
    started_at: datetime,
    creation_key: uuid.UUID | None = None,
    now: datetime,
    **_: Any,
) -> Incident | None:
    """The incident a declare form made already: the one with its key, or, for a form whose key
    the browser did not keep (Back, then submit again), the one this person declared minutes ago
    with the same service, title and start."""
    if creation_key is not None:
        made = Incident.objects.filter(creation_key=creation_key).first()
        if made is not None:
            return made
    return (
        Incident.objects.filter(
            created_by=user,
            service=service,
            title=title,
            started_at=started_at,
            created_at__gte=now - DECLARED_AGAIN_WITHIN,
        )
        .order_by("-pk")
        .first()
    )
