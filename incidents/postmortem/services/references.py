"""An incident's external references and labels: each set replaced as a whole, as a sync job
sends the full list, or changed by what an editor added and removed since they opened the form
(`base`), so two people editing the labels at once both keep what they did.

A reference names one incident in its source (the unique constraint); taking one that another
incident holds is refused with ReferenceTaken, naming that incident, so a sync job that lost its
note of what it made finds it instead of making a twin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from incidents.live.services import SUMMARY, live_mark_bump
from incidents.models import ExternalReference, Incident, IncidentLabel

MAX_REFERENCES = 20
MAX_LABELS = 20


@dataclass(frozen=True)
class Reference:
    source: str
    key: str
    url: str = ""


class ReferenceTaken(Exception):
    """Another incident already holds this source's key."""

    def __init__(self, reference: Reference, holder: str) -> None:
        super().__init__(f"{reference.source}:{reference.key} already names {holder}.")
        self.reference = reference
        self.holder = holder


def _touched(incident: Incident, user: User | None) -> None:
    # The version is what If-Match compares: a client holding the old one must read the new lists.
    Incident.objects.filter(pk=incident.pk).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    incident.refresh_from_db(fields=["version", "updated_at"])
    live_mark_bump(incident=incident, parts=[SUMMARY], user=user)


def _clean_references(references: Iterable[Reference]) -> list[Reference]:
    cleaned: dict[tuple[str, str], Reference] = {}
    errors: list[str] = []
    for reference in references:
        row = ExternalReference(
            source=reference.source.strip().lower(),
            key=reference.key.strip(),
            url=reference.url.strip(),
        )
        try:
            row.clean_fields(exclude=["incident"])
        except ValidationError as error:
            errors.extend(f"{reference.source}:{reference.key}: {m}" for m in error.messages)
            continue
        cleaned[(row.source, row.key)] = Reference(row.source, row.key, row.url)
    if len(cleaned) > MAX_REFERENCES:
        errors.append(f"At most {MAX_REFERENCES} external references.")
    if errors:
        raise ValidationError({"external_references": errors})
    return list(cleaned.values())


def _holder(reference: Reference) -> str | None:
    number = (
        ExternalReference.objects.filter(source=reference.source, key=reference.key)
        .values_list("incident__number", flat=True)
        .first()
    )
    return None if number is None else f"INC-{number}"


def _lock(incident: Incident) -> None:
    # Two writers of one incident's lists take turns, so each reads what the other wrote.
    Incident.objects.select_for_update().filter(pk=incident.pk).values_list("pk").first()


@transaction.atomic
def incident_references_set(
    *,
    incident: Incident,
    references: Iterable[Reference],
    user: User | None,
    base: Iterable[tuple[str, str]] | None = None,
) -> bool:
    """Make the incident's references `references`; True if anything changed.

    With `base` (the (source, key) pairs the editor started from), only the ones the editor
    added or removed change, and a reference someone else added meanwhile stays.
    """
    _lock(incident)
    typed = {(r.source, r.key): r for r in _clean_references(references)}
    # Read after the lock, not from a prefetch: the lists as they are now.
    current = {(r.source, r.key): r for r in ExternalReference.objects.filter(incident=incident)}
    wanted = dict(typed)
    if base is not None:
        started = set(base)
        for pair, row in current.items():
            if pair not in started and pair not in wanted:
                wanted[pair] = Reference(row.source, row.key, row.url)
    gone = [row.pk for pair, row in current.items() if pair not in wanted]
    changed_url = [
        (current[pair], ref.url)
        for pair, ref in wanted.items()
        if pair in current and current[pair].url != ref.url
    ]
    new = [ref for pair, ref in wanted.items() if pair not in current]
    if not (gone or changed_url or new):
        return False
    ExternalReference.objects.filter(pk__in=gone).delete()
    for row, url in changed_url:
        row.url = url
        row.save(update_fields=["url"])
    for ref in new:
        if (holder := _holder(ref)) is not None:
            raise ReferenceTaken(ref, holder)
        try:
            with transaction.atomic():
                ExternalReference.objects.create(
                    incident=incident, source=ref.source, key=ref.key, url=ref.url
                )
        except IntegrityError:  # taken meanwhile by a concurrent request
            raise ReferenceTaken(ref, _holder(ref) or "another incident") from None
    _touched(incident, user)
    return True


def _clean_labels(labels: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    errors: list[str] = []
    for label in labels:
        name = label.strip().lower()
        if not name or name in cleaned:
            continue
        try:
            IncidentLabel(name=name).clean_fields(exclude=["incident"])
        except ValidationError as error:
            errors.extend(f"{name}: {message}" for message in error.messages)
            continue
        cleaned.append(name)
    if len(cleaned) > MAX_LABELS:
        errors.append(f"At most {MAX_LABELS} labels.")
    if errors:
        raise ValidationError({"labels": errors})
    return cleaned


@transaction.atomic
def incident_labels_set(
    *,
    incident: Incident,
    labels: Iterable[str],
    user: User | None,
    base: Iterable[str] | None = None,
) -> bool:
    """Make the incident's labels `labels` (lower-cased); True if anything changed.

    With `base` (the labels the editor started from), only the ones the editor added or removed
    change, and a label someone else added meanwhile stays.
    """
    _lock(incident)
    wanted = set(_clean_labels(labels))
    current = set(IncidentLabel.objects.filter(incident=incident).values_list("name", flat=True))
    if base is not None:
        wanted |= current - set(base)
    if wanted == current:
        return False
    IncidentLabel.objects.filter(incident=incident, name__in=current - wanted).delete()
    IncidentLabel.objects.bulk_create(
        [IncidentLabel(incident=incident, name=name) for name in sorted(wanted - current)]
    )
    _touched(incident, user)
    return True
