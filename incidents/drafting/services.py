"""Writes of the draft from the facts: proposing it, and keeping or discarding what it proposed,
one row (or one text) at a time or all at once. Each is recorded in the history with who did it.

A proposal is stored as the rows it proposes, marked `proposed`, and the prose it drafts waits in
`Incident.proposed_prose`; keeping a row clears its mark, keeping a text writes it into its field
if that is still empty. Discarding deletes the proposed row (never a kept one) and records what
it proposed (DiscardedProposal). Proposing again adds only facts no row tells yet, proposed or
kept, and none that was discarded: a discarded proposal stays discarded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import F, Max
from django.utils import timezone

from incidents.drafting.facts import PROSE, draft_from_facts
from incidents.live.services import DRAFT, TIMELINE, live_mark_bump, row_part
from incidents.models import Cause, DiscardedProposal, Incident, TimelineEvent
from incidents.models.base import MarkdownModel
from incidents.postmortem.services import feed_incident_parts, history_record, incident_update
from incidents.postmortem.services.feed import SECTION_NAMES
from incidents.postmortem.services.history import _acting

# The rows a proposal writes, by the key the page and the API name their section with.
PROPOSED_MODELS: dict[str, type[MarkdownModel]] = {
    "timeline": TimelineEvent,
    "causes": Cause,
}
# The page's parts a proposal touches: its panel, and the sections of the rows it proposes.
_ALL_PARTS = (DRAFT, TIMELINE, "section-causes")
# Markdown fields a proposal's rows are valid without, and foreign keys it sets from rows it
# has just read: checking them again would cost a statement per row.
_NOT_CHECKED = ["incident", "deployment", "parent", "created_by"]


@dataclass(frozen=True)
class Proposed:
    """What one call proposed: counts per kind of row, and which texts."""

    events: int
    causes: int
    prose: tuple[str, ...]
    # Facts left out because their proposal was discarded before.
    discarded: int = 0

    @property
    def total(self) -> int:
        return self.events + self.causes + len(self.prose)


def rows_of(model: type[models.Model]) -> models.QuerySet[Any]:
    """Typed loosely: the model is known at run time only, and each has `proposed`, `incident`
    and a version."""
    return model._default_manager.all()


def _who(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _locked(incident: Incident) -> Incident:
    """The incident re-read under its row lock: two proposals (or a proposal and a keep) at once
    queue here, so the second sees what the first wrote."""
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("service", "created_by")
        .get(pk=incident.pk)
    )


def _history(rows: Sequence[models.Model], user: User | None, *, update: bool) -> None:
    if rows:
        type(rows[0]).history.bulk_history_create(  # type: ignore[attr-defined]  # added by simple-history, which ships no types
            rows, update=update, default_user=_who(user)
        )


@transaction.atomic
def postmortem_draft_propose(*, incident: Incident, user: User | None) -> Proposed:
    """Propose a first draft from what Hindsight knows (incidents.drafting.facts): the rows are
    stored marked as proposed, the texts wait beside their empty fields. A fixed number of
    statements, however many facts there are."""
    incident = _locked(incident)
    draft = draft_from_facts(incident)
    events = [
        TimelineEvent(
            incident=incident,
            occurred_at=fact.occurred_at,
            kind=fact.kind,
            text=fact.text,
            deployment=fact.deployment,
            created_by=_who(user),
            proposed=True,
        )
        for fact in draft.events
    ]
    last = (
        Cause.objects.filter(incident=incident, parent=None, kind=Cause.Kind.TRIGGER).aggregate(
            last=Max("order")
        )["last"]
        if draft.causes
        else None
    )
    start = 0 if last is None else last + 1
    causes = [
        Cause(
            incident=incident,
            kind=Cause.Kind.TRIGGER,
            title=fact.title,
            detail=fact.detail,
            deployment=fact.deployment,
            order=start + index,
            proposed=True,
        )
        for index, fact in enumerate(draft.causes)
    ]
    for row in (*events, *causes):
        row.render_markdown()
        row.full_clean(exclude=_NOT_CHECKED, validate_unique=False, validate_constraints=False)
    # bulk_create sets primary keys on PostgreSQL and SQLite, which the history needs.
    _history(TimelineEvent.objects.bulk_create(events), user, update=False)
    _history(Cause.objects.bulk_create(causes), user, update=False)
    if draft.prose:
        Incident.objects.filter(pk=incident.pk).update(
            proposed_prose={**incident.proposed_prose, **draft.prose},
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        incident.refresh_from_db()
        history_record(obj=incident, user=user)
    live_mark_bump(incident=incident, parts=_ALL_PARTS, user=user)
    return Proposed(len(events), len(causes), tuple(draft.prose), draft.discarded)


@transaction.atomic
def proposal_keep(*, row: MarkdownModel, user: User | None) -> bool:
    """Keep a proposed row: it becomes an ordinary row of the post-mortem. Returns False when
    it was no proposal (kept already, by another click or another person)."""
    model = type(row)
    kept = (
        rows_of(model)
        .filter(pk=row.pk, proposed=True)
        .update(proposed=False, version=F("version") + 1, updated_at=timezone.now())
    )
    if kept:
        row.refresh_from_db()
        history_record(obj=row, user=user)
        # Kept, a proposal becomes a fact of the post-mortem: its creation, for the feed.
        feed_incident_parts(
            incident=row.incident_id,  # type: ignore[attr-defined]  # every proposed model has an incident
            parts=[SECTION_NAMES[model]],
            user=user,
        )
        live_mark_bump(incident=row.incident_id, parts=(DRAFT, row_part(row)), user=user)  # type: ignore[attr-defined]  # every proposed model has an incident
    return bool(kept)


@transaction.atomic
def proposal_discard(*, row: MarkdownModel, user: User | None) -> bool:
    """Delete a proposed row and record its fact, so that proposing again leaves it out. A kept
    row is a person's and is left alone: returns False."""
    model = type(row)
    found = rows_of(model).filter(pk=row.pk, proposed=True).select_for_update().first()
    if found is None:
        return False
    _acting(found, user)
    record = DiscardedProposal.of_row(found, user)
    found.delete()
    if record is not None:
        record.save()
    live_mark_bump(incident=found.incident_id, parts=(DRAFT, row_part(found)), user=user)
    return True


@transaction.atomic
def proposed_text_keep(*, incident: Incident, field: str, user: User | None) -> bool:
    """Write a proposed text into its field, if that is still empty: a person who wrote there
    meanwhile keeps their text, and the proposal goes. Returns whether the text was written."""
    if field not in PROSE:
        raise ValueError(f"No proposed text for {field!r}.")
    incident = _locked(incident)
    text = incident.proposed_prose.get(field)
    if text is None:
        return False
    written = not getattr(incident, field).strip()
    if written:
        incident = incident_update(
            incident=incident, expected_version=incident.version, user=user, **{field: text}
        )
    _drop_texts(incident, [field], user)
    return written


@transaction.atomic
def proposed_text_discard(*, incident: Incident, field: str, user: User | None) -> bool:
    if field not in PROSE:
        raise ValueError(f"No proposed text for {field!r}.")
    incident = _locked(incident)
    if field not in incident.proposed_prose:
        return False
    _text_discarded(incident, field, user).save()
    _drop_texts(incident, [field], user)
    return True


def _drop_texts(incident: Incident, fields: list[str], user: User | None) -> None:
    left = {k: v for k, v in incident.proposed_prose.items() if k not in fields}
    Incident.objects.filter(pk=incident.pk).update(
        proposed_prose=left, version=F("version") + 1, updated_at=timezone.now()
    )
    incident.refresh_from_db()
    history_record(obj=incident, user=user)
    live_mark_bump(incident=incident, parts=(DRAFT,), user=user)


@transaction.atomic
def proposals_keep_all(*, incident: Incident, user: User | None) -> int:
    """Keep every proposed row and text of the incident. Returns how many were kept."""
    incident = _locked(incident)
    count = 0
    kept_sections = []
    for model in PROPOSED_MODELS.values():
        pks = list(
            rows_of(model).filter(incident=incident, proposed=True).values_list("pk", flat=True)
        )
        if not pks:
            continue
        rows_of(model).filter(pk__in=pks).update(
            proposed=False, version=F("version") + 1, updated_at=timezone.now()
        )
        _history(list(rows_of(model).filter(pk__in=pks)), user, update=True)
        count += len(pks)
        kept_sections.append(SECTION_NAMES[model])
    if kept_sections:
        feed_incident_parts(incident=incident, parts=kept_sections, user=user)
    live_mark_bump(incident=incident, parts=_ALL_PARTS, user=user)
    texts = {k: v for k, v in incident.proposed_prose.items() if not getattr(incident, k).strip()}
    if texts:
        incident = incident_update(
            incident=incident, expected_version=incident.version, user=user, **texts
        )
        count += len(texts)
    if incident.proposed_prose:
        _drop_texts(incident, list(incident.proposed_prose), user)
    return count


@transaction.atomic
def proposals_discard_all(*, incident: Incident, user: User | None) -> int:
    """Delete every proposed row and text of the incident, recording each so that proposing
    again leaves them out; kept rows stay. Returns how many."""
    incident = _locked(incident)
    records = []
    count = 0
    for model in PROPOSED_MODELS.values():
        for row in rows_of(model).filter(incident=incident, proposed=True):
            _acting(row, user)
            record = DiscardedProposal.of_row(row, user)
            if record is not None:
                records.append(record)
            row.delete()
            count += 1
    live_mark_bump(incident=incident, parts=_ALL_PARTS, user=user)
    if incident.proposed_prose:
        count += len(incident.proposed_prose)
        records += [_text_discarded(incident, name, user) for name in incident.proposed_prose]
        _drop_texts(incident, list(incident.proposed_prose), user)
    DiscardedProposal.objects.bulk_create(records)
    return count


def _text_discarded(incident: Incident, field: str, user: User | None) -> DiscardedProposal:
    return DiscardedProposal(
        incident=incident,
        part=DiscardedProposal.Part.TEXT,
        kind=field,
        text=incident.proposed_prose[field],
        discarded_by=_who(user),
    )
