"""Approve, send (or publish) and withdraw a communication.

Every state change is a compare-and-set on the status it leaves, so two people approving or
sending at once change it once. Sending writes the timeline event and the outbox row for
delivery in the same transaction, so the request never waits on Redis and nothing is lost while
it is down (incidents.communications.delivery). Publishing a status page update (or the public
post-mortem) makes its incident public and sets the components it names; withdrawing the last
one can take the incident off the page again (incidents.statuspage.services.visibility).
"""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.communications.defaults import PROMPT_CLOSE, PROMPT_OPEN
from incidents.communications.delivery import DELIVER_TASK, is_delivered
from incidents.communications.services._common import Status, _who
from incidents.communications.services.errors import CommunicationStateError
from incidents.communications.services.feed import feed_message_sent
from incidents.live.services import COMMUNICATIONS, live_mark_bump
from incidents.models import Audience, Communication, TimelineEvent
from incidents.postmortem.services import history_record, timeline_event_add
from incidents.statuspage.page import public_documents_mark_stale
from incidents.statuspage.services.component_status import components_set_by_update
from incidents.statuspage.services.visibility import (
    incident_publish_with_update,
    incident_unpublish_after_withdrawal,
)
from outbox.services import outbox_enqueue

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_PROMPT = re.compile(re.escape(PROMPT_OPEN) + r".*?" + re.escape(PROMPT_CLOSE), re.S)
# Published, these are on the status page: publishing one makes its incident public, and
# withdrawing one can take it off again.
ON_THE_STATUS_PAGE = (Audience.STATUS_PAGE, Audience.PUBLIC_POSTMORTEM)


def _plain(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


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
    live_mark_bump(incident=communication.incident_id, parts=[COMMUNICATIONS], user=user)
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
    feed_message_sent(communication=communication, user=user)
    live_mark_bump(incident=communication.incident_id, parts=[COMMUNICATIONS], user=user)
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
        # The components it names take the status it gives them. Before the incident's
        # visibility, which marks the kept public pages stale: those rows are locked last in
        # every transaction, so two writes never wait on each other in a circle.
        components_set_by_update(communication=communication, user=user, at=now)
        # Publishing an update (or the public post-mortem) is what makes an incident public,
        # if nothing had yet.
        incident_publish_with_update(incident=communication.incident, user=user, at=now)
        # On the page at once, not when its kept copy runs out.
        public_documents_mark_stale(incident_number=communication.incident.number)
    return communication


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
    live_mark_bump(incident=communication.incident_id, parts=[COMMUNICATIONS], user=user)
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
    public_documents_mark_stale(incident_number=communication.incident.number)
    return communication
