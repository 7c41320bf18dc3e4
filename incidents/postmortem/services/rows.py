"""The sections' rows, one at a time: saving (a new row at the end of its siblings, a changed one
by compare-and-set on its own version), deleting, moving among its siblings, and ticking a
success criterion.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone

from incidents.live.services import live_mark_row, row_incident_id
from incidents.models import DiscardedProposal, SuccessCriterion, TimelineEvent
from incidents.models.base import MarkdownModel, Ordered, Versioned
from incidents.postmortem.services.conflicts import (
    TRANSITION_ATTEMPTS,
    StaleRow,
    comparable_values,
)
from incidents.postmortem.services.feed import (
    SECTION_NAMES,
    feed_incident_parts,
    feed_row_deleted,
    feed_row_saved,
)
from incidents.postmortem.services.history import _acting, history_record
from incidents.postmortem.services.timeline import AuditLineLocked

# Any row of a section, and one kept in hand order: the services give back what they were given.
_Part = TypeVar("_Part", bound=MarkdownModel)
_Moved = TypeVar("_Moved", bound=Ordered)


# What a person's edit of a row never writes: its identity, its version, the HTML rendered from
# its Markdown and its own timestamps.
_NOT_EDITED = frozenset({"id", "version", "created_at", "updated_at"})


def _edited_fields(model: type[models.Model], fields: Iterable[str] | None) -> list[str]:
    """The row's columns among `fields` (all a person may write when None), in `fields`' order."""
    writable = [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in _NOT_EDITED and not f.name.endswith("_html") and not f.primary_key
    ]
    if fields is None:
        return writable
    return [name for name in dict.fromkeys(fields) if name in writable]


def _refuse_audit_line(row: models.Model) -> None:
    # The stored source, not the one in hand: a request cannot unlock a line by claiming it.
    if isinstance(row, TimelineEvent) and row.pk is not None:
        source = TimelineEvent.objects.filter(pk=row.pk).values_list("source", flat=True).first()
        if source is not None and source != TimelineEvent.Source.MANUAL:
            raise AuditLineLocked()


def _with_timestamp(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    # .update() skips auto_now; a row that shows when it last changed must still say so.
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        return {**values, "updated_at": timezone.now()}
    return values


@transaction.atomic
def part_save(
    *,
    row: _Part,
    user: User | None,
    fields: Iterable[str] | None = None,
    expected_version: int | None = None,
    base: Mapping[str, str] | None = None,
) -> _Part:
    """Validate and store a new or changed row, with its rendered Markdown.

    A new ordered row goes to the end of its siblings. A changed row is written by
    compare-and-set on its version, which every write bumps (ticks and moves too). `fields`
    names what the person edited, all the row's fields when None: only those are written, over
    the row as it is now, so an edit of an item's title never undoes someone ticking it done
    meanwhile.

    `expected_version` is the version the editor read; None writes with no precondition (what
    Hindsight writes itself, the admin). Stale, it is the rule of incident_update: with `base`
    (each edited field's value when the editor started, as comparable() gives it) a field
    someone else changed meanwhile that this editor changed too raises StaleRow naming it, and
    otherwise the edit goes on top of theirs. Without `base` any stale version raises StaleRow
    (the API's If-Match: 412). Timeline lines Hindsight wrote raise AuditLineLocked.
    """
    if row.pk is None:
        if isinstance(row, Ordered):
            last = row.siblings().aggregate(last=Max("order"))["last"]
            row.order = 0 if last is None else last + 1
        row.render_markdown()
        row.full_clean()
        _acting(row, user)
        row.save()
        feed_row_saved(row=row, user=user, created=True)
        live_mark_row(row=row, user=user)
        return row

    _refuse_audit_line(row)
    model = type(row)
    names = _edited_fields(model, fields)
    for _attempt in range(TRANSITION_ATTEMPTS):
        current = model._default_manager.get(pk=row.pk)
        assert isinstance(current, Versioned)  # every model with sections' rows is
        if expected_version is not None and current.version != expected_version:
            if base is None:
                raise StaleRow(current_version=current.version, fields=names)
            now = comparable_values(current, names)
            clashing = [name for name in names if now[name] != base.get(name, now[name])]
            if clashing:
                raise StaleRow(current_version=current.version, fields=clashing)
        if not names:
            # Nothing to write: the precondition held (or was merged), and no version is spent.
            row.refresh_from_db()
            return row
        candidate = copy.copy(current)
        for name in names:
            attname = model._meta.get_field(name).attname
            setattr(candidate, attname, getattr(row, attname))
        html_fields = candidate.render_markdown()
        candidate.full_clean()
        values = {
            model._meta.get_field(name).attname: getattr(candidate, name)
            for name in (*names, *html_fields)
        }
        # Against the version just read, not the expected one: a merged edit goes on top of
        # exactly what was judged, and a write slipping in between sends it round again.
        updated = model._default_manager.filter(pk=row.pk, version=current.version).update(
            **_with_timestamp(model, values), version=F("version") + 1
        )
        if updated == 1:
            break
        if expected_version is not None and base is None:
            raise StaleRow(
                current_version=model._default_manager.filter(pk=row.pk)
                .values_list("version", flat=True)
                .first(),
                fields=names,
            )
    else:
        raise StaleRow(current_version=None, fields=names)
    row.refresh_from_db()
    history_record(obj=row, user=user)
    feed_row_saved(row=row, user=user, created=False)
    live_mark_row(row=row, user=user)
    return row


@transaction.atomic
def part_delete(
    *, row: MarkdownModel, user: User | None, expected_version: int | None = None
) -> None:
    """Delete a row (and, through the database, its nested rows).

    With `expected_version`, only the row as the caller read it: a row changed since raises
    StaleRow (current_version None when it is gone already). Timeline lines Hindsight wrote
    raise AuditLineLocked. A proposal of the draft from the facts is recorded as discarded.
    """
    _refuse_audit_line(row)
    # Typed loosely: the model is known at run time only, and every section's model has a version.
    rows: models.QuerySet[Any] = type(row)._default_manager.all()
    # The compare-and-set takes the row's lock, so no edit lands between it and the delete.
    if expected_version is not None and not rows.filter(pk=row.pk, version=expected_version).update(
        version=F("version") + 1
    ):
        raise StaleRow(
            current_version=rows.filter(pk=row.pk).values_list("version", flat=True).first()
        )
    _acting(row, user)
    feed_row_deleted(row=row, user=user)
    live_mark_row(row=row, user=user)
    # Deleting a row the draft from the facts proposed, by its Delete button or by removing its
    # line in the text, discards it as Discard does: proposing again leaves it out.
    discarded = DiscardedProposal.of_row(row, user)
    row.delete()
    if discarded is not None:
        discarded.save()


class _SiblingMoved(Exception):
    """A sibling was written between reading the order and renumbering it."""


@transaction.atomic
def part_move(*, row: _Moved, offset: int, user: User | None) -> _Moved:
    """Move a row `offset` places among its siblings (-1 is up), renumbering them 0..n-1.

    A move needs no expected version: it is one click, and a place in the list is nobody's
    text. Each renumbered row still bumps its version, by compare-and-set, so an editor who
    opened one learns of it, and a row written meanwhile sends the move round again.
    """
    for _attempt in range(TRANSITION_ATTEMPTS):
        try:
            with transaction.atomic():
                return _part_move_once(row=row, offset=offset, user=user)
        except _SiblingMoved:
            continue
    raise StaleRow(current_version=None, fields=["order"])


def _part_move_once(*, row: _Moved, offset: int, user: User | None) -> _Moved:
    model = type(row)
    siblings = list(row.siblings().select_for_update())
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == row.pk)
    target = max(0, min(len(siblings) - 1, index + offset))
    siblings.insert(target, siblings.pop(index))
    changed: list[int] = []
    for position, sibling in enumerate(siblings):
        if sibling.order != position:
            assert isinstance(sibling, Versioned)  # every ordered row is
            if not model._default_manager.filter(pk=sibling.pk, version=sibling.version).update(
                **_with_timestamp(model, {"order": position}), version=F("version") + 1
            ):
                raise _SiblingMoved()
            changed.append(sibling.pk)
    if changed:
        written = list(model._default_manager.filter(pk__in=changed))
        model.history.bulk_history_create(  # type: ignore[attr-defined]  # added by simple-history, which ships no types
            written,
            update=True,
            default_user=user if user is not None and user.is_authenticated else None,
        )
        for moved in written:
            feed_row_saved(row=moved, user=user, created=False, incident_too=False)
        feed_incident_parts(incident=row_incident_id(row), parts=[SECTION_NAMES[model]], user=user)
        live_mark_row(row=row, user=user)
    row.refresh_from_db()
    return row


@transaction.atomic
def criterion_set_done(
    *, criterion: SuccessCriterion, done: bool, user: User | None
) -> SuccessCriterion:
    """Tick a success criterion as met, or take the tick back. One click, no expected version;
    ticking what is ticked changes nothing."""
    changed = (
        SuccessCriterion.objects.filter(pk=criterion.pk)
        .exclude(done=done)
        .update(
            done=done,
            done_at=timezone.now() if done else None,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
    )
    criterion.refresh_from_db()
    if changed:
        history_record(obj=criterion, user=user)
        feed_row_saved(row=criterion, user=user, created=False)
        live_mark_row(row=criterion, user=user)
    return criterion
