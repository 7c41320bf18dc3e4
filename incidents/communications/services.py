"""Communications from draft to sent: generate from a template, edit, approve, send, correct.

Every state change is a compare-and-set on the status it leaves, so two people approving or
sending at once change it once. A sent communication is never changed again: edits are refused
and a correction is a new communication naming the one it corrects. Sending writes the
timeline event and the outbox row for delivery in the same transaction, so the request never
waits on Redis and nothing is lost while it is down (incidents.communications.delivery).
"""

from __future__ import annotations

import copy
import re
import secrets
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.communications.defaults import PROMPT_CLOSE, PROMPT_OPEN
from incidents.communications.delivery import DELIVER_TASK, is_delivered
from incidents.communications.facts import incident_facts
from incidents.communications.sandbox import check_template, render_subject, render_template
from incidents.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    Incident,
    Phase,
    TimelineEvent,
    WebhookEndpoint,
)
from incidents.postmortem.services import history_record, timeline_event_add
from incidents.statuspage.page import status_page_invalidate
from incidents.statuspage.services import (
    communication_components_set,
    components_set_by_update,
    incident_publish_with_update,
    incident_unpublish_after_withdrawal,
)
from outbox.services import outbox_enqueue

Status = Communication.Status
EDITABLE = (Status.DRAFT, Status.APPROVED)
CORRECTION_PREFIX = "Correction: "
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_PROMPT = re.compile(re.escape(PROMPT_OPEN) + r".*?" + re.escape(PROMPT_CLOSE), re.S)
# Published, these are on the status page: publishing one makes its incident public, and
# withdrawing one can take it off again.
ON_THE_STATUS_PAGE = (Audience.STATUS_PAGE, Audience.PUBLIC_POSTMORTEM)


class CommunicationStateError(Exception):
    """The communication is not in a state that allows this (e.g. editing a sent one)."""

    def __init__(self, message: str, *, status: str):
        self.status = status
        super().__init__(message)


class StaleCommunication(CommunicationStateError):
    """Someone else saved the draft since this editor opened it."""


def _who(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _plain(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


# --- Templates ----------------------------------------------------------------------------------


def communication_template_check(
    *, audience: str, subject_template: str, body_template: str
) -> None:
    """Refuse a template that would fail when a draft is generated from it, field by field."""
    errors: dict[str, list[ValidationError]] = {}
    for field, source in (("subject_template", subject_template), ("body_template", body_template)):
        try:
            check_template(source, audience=audience)
        except ValidationError as error:
            errors[field] = error.error_list
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def communication_template_save(*, template: CommunicationTemplate) -> CommunicationTemplate:
    template.full_clean()
    communication_template_check(
        audience=template.audience,
        subject_template=template.subject_template,
        body_template=template.body_template,
    )
    template.save()
    return template


# --- Drafts -------------------------------------------------------------------------------------


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


# --- Approve and send ---------------------------------------------------------------------------


@transaction.atomic
def communication_approve(*, communication: Communication, user: User | None) -> Communication:
    """Approve a draft for sending. A public post-mortem that still holds a prompt of its
    template ([[...]]) is refused: the template leaves those parts for the editor to write."""
    if communication.audience == Audience.PUBLIC_POSTMORTEM:
        left = _PROMPT.search(f"{communication.subject}\n{communication.body}")
        if left is not None:
            raise CommunicationStateError(
                f"Write the part the template left open first: {left.group(0)}",
                status=communication.status,
            )
    now = timezone.now()
    updated = Communication.objects.filter(pk=communication.pk, status=Status.DRAFT).update(
        status=Status.APPROVED, approved_by=_who(user), approved_at=now, updated_at=now
    )
    communication.refresh_from_db()
    if updated != 1:
        raise CommunicationStateError(
            f"Only a draft can be approved; this one is {communication.get_status_display()}.",
            status=communication.status,
        )
    history_record(obj=communication, user=user)
    return communication


_SENT_VERBS = {
    "user_email": "sent to subscribers",
    "status_page": "published on the status page",
    "public_postmortem": "published on the incident's public page",
}


@transaction.atomic
def communication_send(*, communication: Communication, user: User | None) -> Communication:
    """Send (or publish) an approved communication: it becomes immutable, goes on the
    incident's timeline and, for public audiences, into the outbox for delivery to every
    confirmed subscriber and active webhook."""
    now = timezone.now()
    updated = Communication.objects.filter(pk=communication.pk, status=Status.APPROVED).update(
        status=Status.SENT, sent_at=now, updated_at=now
    )
    communication.refresh_from_db()
    if updated != 1:
        state = communication.get_status_display().lower()
        raise CommunicationStateError(
            f"Only an approved communication can be sent; this one is {state}.",
            status=communication.status,
        )
    history_record(obj=communication, user=user)
    verb = _SENT_VERBS.get(communication.audience, "marked as sent")
    acting = _who(user)
    who = acting.get_username() if acting else "Hindsight"
    correction = " (a correction)" if communication.corrects_id else ""
    timeline_event_add(
        incident=communication.incident,
        occurred_at=now,
        text=f"{communication.get_audience_display()}{correction} {verb} by {who}: "
        f"“{_plain(communication.subject)}”",
        kind=TimelineEvent.Kind.COMMUNICATION,
        source=TimelineEvent.Source.SYSTEM,
        created_by=_who(user),
    )
    if is_delivered(communication.audience):
        outbox_enqueue(task=DELIVER_TASK, kwargs={"communication_id": communication.pk})
    if communication.audience in ON_THE_STATUS_PAGE:
        # Publishing an update (or the public post-mortem) is what makes an incident public,
        # if nothing had yet.
        incident_publish_with_update(incident=communication.incident, user=user, at=now)
        # The components it names take the status it gives them.
        components_set_by_update(communication=communication, user=user, at=now)
        # On the page at once, not when its cached copy runs out.
        transaction.on_commit(
            partial(status_page_invalidate, incident_number=communication.incident.number)
        )
    return communication


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
    return correction


# --- Withdrawing a published update ------------------------------------------------------


@transaction.atomic
def communication_retract(
    *, communication: Communication, user: User | None, reason: str
) -> Communication:
    """Withdraw a published status page update (or public post-mortem) that said something
    wrong.

    The page and the feeds stop showing it at once (the feeds carry an entry saying it was
    withdrawn); the update itself, who withdrew it and why stay on the record and the
    timeline. Withdrawing the incident's last published update takes the incident off the page
    too, unless someone marked it public. Only a published status page update can be withdrawn:
    an email cannot be unsent, and a draft is simply discarded. Withdrawing twice changes
    nothing.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why it is withdrawn; the record keeps it."})
    if communication.audience not in ON_THE_STATUS_PAGE or communication.status != Status.SENT:
        raise CommunicationStateError(
            "Only a published status page update can be withdrawn; an email cannot be unsent.",
            status=communication.status,
        )
    now = timezone.now()
    withdrawn = Communication.objects.filter(
        pk=communication.pk, status=Status.SENT, retracted_at__isnull=True
    ).update(retracted_at=now, retracted_by=_who(user), retraction_reason=reason, updated_at=now)
    communication.refresh_from_db()
    if not withdrawn:
        return communication
    history_record(obj=communication, user=user)
    who = user.get_username() if user is not None and user.is_authenticated else "Hindsight"
    timeline_event_add(
        incident=communication.incident,
        occurred_at=now,
        text=f"{communication.get_audience_display()} **{_plain(communication.subject)}** "
        f"withdrawn by {who}: "
        f"{_plain(reason)}",
        kind=TimelineEvent.Kind.COMMUNICATION,
        source=TimelineEvent.Source.SYSTEM,
        created_by=_who(user),
    )
    # Its last one withdrawn, an incident nobody marked public goes off the page.
    incident_unpublish_after_withdrawal(incident=communication.incident, user=user)
    transaction.on_commit(
        partial(status_page_invalidate, incident_number=communication.incident.number)
    )
    return communication


# --- Webhook endpoints -----------------------------------------------------------------------


def webhook_secret_new() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def webhook_endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Store a new or changed endpoint. A new one gets its signing secret here, which its
    owner is shown once."""
    if not endpoint.secret:
        endpoint.secret = webhook_secret_new()
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret; deliveries from now on are signed with it."""
    endpoint.secret = webhook_secret_new()
    endpoint.save(update_fields=["secret"])
    return endpoint
