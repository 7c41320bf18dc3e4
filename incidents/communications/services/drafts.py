"""Drafts: generated from a template and the incident's facts, edited, discarded, and the
correction of a sent communication (a new draft naming the one it corrects).

A sent communication is never changed again: edits are refused, and a correction is a new
communication. An edit is a compare-and-set on the editable statuses (and, when the editor says
what they saw, on its last save), so two editors never overwrite each other.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.communications.facts import incident_facts
from incidents.communications.sandbox import render_subject, render_template
from incidents.communications.services._common import Status, _who
from incidents.communications.services.errors import CommunicationStateError, StaleCommunication
from incidents.live.services import COMMUNICATIONS, live_mark_bump
from incidents.models import Audience, Communication, CommunicationTemplate, Incident, Phase
from incidents.postmortem.services import history_record
from incidents.statuspage.services.component_status import communication_components_set

EDITABLE = (Status.DRAFT, Status.APPROVED)
CORRECTION_PREFIX = "Correction: "


# The facts a draft states, kept beside it as they were when it was written.
CHECKED_FACTS = ("started_at", "ended_at", "duration", "components")


def _checked_facts(facts: dict[str, Any]) -> dict[str, Any]:
    shown = {}
    for name in CHECKED_FACTS:
        value = facts.get(name)
        shown[name] = value.isoformat() if isinstance(value, datetime) else value
    return shown


def _refuse_an_end_that_is_not_there(template: CommunicationTemplate, incident: Incident) -> None:
    if template.phase == Phase.RESOLVED and incident.resolved_at is None:
        raise ValidationError(
            {
                "template": (
                    f"“{template.name}” tells people the incident is over, but "
                    f"{incident.reference} has no end yet. Resolve it first (Resolve… on the "
                    "incident page), then draft this message."
                )
            }
        )


def _draft_text(
    template: CommunicationTemplate, incident: Incident
) -> tuple[str, str, dict[str, Any]]:
    """The template filled with the incident's facts, and the facts it stated."""
    _refuse_an_end_that_is_not_there(template, incident)
    # Told to users in the organisation's zone, whatever zone the author reads pages in.
    with timezone.override(settings.TIME_ZONE):
        return _filled(template, incident)


def _filled(template: CommunicationTemplate, incident: Incident) -> tuple[str, str, dict[str, Any]]:
    facts = incident_facts(incident, audience=template.audience)
    try:
        subject = render_subject(template.subject_template, facts, audience=template.audience)
        body = render_template(template.body_template, facts, audience=template.audience)
    except ValidationError as error:
        # Only a template edited around the forms gets here; say which one to fix.
        raise ValidationError(
            {"template": [f"The template “{template.slug}” cannot be used: {m}" for m in error]}
        ) from None
    return subject, body, _checked_facts(facts)


@transaction.atomic
def communication_generate(
    *, incident: Incident, template: CommunicationTemplate, user: User | None
) -> Communication:
    """A new draft filled from the incident's facts as the template's audience may see them."""
    subject, body, facts = _draft_text(template, incident)
    communication = Communication(
        incident=incident,
        template=template,
        audience=template.audience,
        phase=template.phase,
        subject=subject or template.name,
        body=body,
        facts=facts,
        created_by=_who(user),
    )
    communication.render_markdown()
    communication.full_clean()
    communication.save()
    live_mark_bump(incident=incident, parts=[COMMUNICATIONS], user=user)
    return communication


@transaction.atomic
def communication_update(
    *,
    communication: Communication,
    subject: str,
    body: str,
    user: User | None,
    expected_updated_at: datetime | None = None,
    component_statuses: dict[int, str] | None = None,
) -> Communication:
    """Change a draft's text. An approved one goes back to draft: the approval was for the old
    text. A sent one is refused. With `expected_updated_at`, a save on top of someone else's
    is refused too (StaleCommunication) instead of overwriting it unseen.

    `component_statuses` (a status page update's only) replaces the components it names and the
    status it gives each, by component id; None leaves them as they are. It is part of what was
    approved, so it is saved with the text, in the same transaction and the same check."""
    if len(body) > settings.HINDSIGHT_MARKDOWN_MAX_LENGTH:
        raise ValidationError(
            {"body": f"At most {settings.HINDSIGHT_MARKDOWN_MAX_LENGTH} characters."}
        )
    candidate = copy.copy(communication)
    candidate.subject, candidate.body = subject, body
    html_fields = candidate.render_markdown()
    candidate.full_clean(exclude=["status", "approved_at"])
    rows = Communication.objects.filter(pk=communication.pk, status__in=EDITABLE)
    if expected_updated_at is not None:
        rows = rows.filter(updated_at=expected_updated_at)
    updated = rows.update(
        subject=subject,
        body=body,
        **{name: getattr(candidate, name) for name in html_fields},
        status=Status.DRAFT,
        approved_by=None,
        approved_at=None,
        updated_at=timezone.now(),
    )
    if updated != 1:
        communication.refresh_from_db()
        if communication.status == Status.SENT:
            raise CommunicationStateError(
                "It has been sent and can no longer change; write a correction instead.",
                status=communication.status,
            )
        raise StaleCommunication(
            "Someone else saved this draft while you were editing it; reload it and apply "
            "your change again.",
            status=communication.status,
        )
    communication.refresh_from_db()
    if component_statuses is not None and (
        component_statuses or communication.audience == Audience.STATUS_PAGE
    ):
        try:
            communication_components_set(communication=communication, statuses=component_statuses)
        except ValidationError as error:
            raise ValidationError({"components": error.messages}) from None
    history_record(obj=communication, user=user)
    live_mark_bump(incident=communication.incident_id, parts=[COMMUNICATIONS], user=user)
    return communication


@transaction.atomic
def communication_discard(*, communication: Communication, user: User | None) -> None:
    """Delete a draft or an approved one that was never sent."""
    deleted, _ = Communication.objects.filter(pk=communication.pk, status__in=EDITABLE).delete()
    if not deleted:
        raise CommunicationStateError(
            "It has been sent; a sent communication stays on the record.",
            status=Status.SENT,
        )
    live_mark_bump(incident=communication.incident_id, parts=[COMMUNICATIONS], user=user)


@transaction.atomic
def communication_correct(*, communication: Communication, user: User | None) -> Communication:
    """A new draft that corrects a sent communication. It starts from the incident's facts as
    they are now, through the template the sent one came from: what needs correcting is
    usually a fact, and the old text would repeat it. Without a template, from the old text."""
    if communication.status != Status.SENT:
        raise CommunicationStateError(
            "Only a sent communication needs a correction; edit this one instead.",
            status=communication.status,
        )
    facts: dict[str, Any] = {}
    subject, body = communication.subject, communication.body
    if communication.template is not None:
        incident = Incident.objects.select_related("service").get(pk=communication.incident_id)
        subject, body, facts = _draft_text(communication.template, incident)
        subject = subject or communication.subject
    if not subject.startswith(CORRECTION_PREFIX):
        subject = (CORRECTION_PREFIX + subject)[
            : Communication._meta.get_field("subject").max_length
        ]
    correction = Communication(
        incident=communication.incident,
        template=communication.template,
        audience=communication.audience,
        phase=communication.phase,
        subject=subject,
        body=body,
        facts=facts,
        corrects=communication,
        created_by=_who(user),
    )
    correction.render_markdown()
    correction.full_clean()
    correction.save()
    live_mark_bump(incident=communication.incident_id, parts=[COMMUNICATIONS], user=user)
    return correction
