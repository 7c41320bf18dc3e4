"""Writes of the status page's side: subscribers and maintenance windows.

Subscribers sign up, confirm by a link (double opt-in) and unsubscribe in one click. A sign-up
answers the same whatever the address's state, so the form never tells anyone who is
subscribed: a new or pending address gets a confirmation mail (at most one per
CONFIRM_RESEND_SECONDS, so the form cannot be turned on someone's inbox), a confirmed address gets
nothing, and an address that unsubscribed starts again as pending and must confirm again.
Until it is confirmed an address receives nothing but the confirmation.

The confirmation goes through the outbox, as the other mail does: the sign-up writes an outbox
row in its own transaction, so the mail leaves only if the sign-up commits, the request never
waits on the broker or the mail server, and a task the broker could not take at once is
published later by the outbox's relay (incidents.statuspage.tasks sends the mail).

Maintenance windows are shown on the public page as soon as they are saved, and their
subscribers hear of them (incidents.statuspage.maintenance_notices).

An incident is on the page only once the team makes it public (its `public_since`): by
publishing a status page update for it (communication_send calls incident_publish_with_update),
or by marking it public (incident_publish). Withdrawing its last published update takes it off
again unless it was marked public (incident_unpublish_after_withdrawal); incident_unpublish
takes it off whatever stands. Each of these first locks the incident's row, so a publish and a
withdrawal at the same moment cannot leave it internal with an update standing, then changes it
by compare-and-set on the state it read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.rendering import render
from deployments.models import HealthChange, HealthCheck
from deployments.selectors import checks_in_maintenance
from incidents.models import (
    Audience,
    Communication,
    CommunicationComponent,
    Component,
    ComponentGroup,
    ComponentStatus,
    Incident,
    Maintenance,
    Subscriber,
    TimelineEvent,
)
from incidents.postmortem.services import history_record, timeline_event_add
from incidents.statuspage.maintenance_notices import maintenance_notice_schedule
from incidents.statuspage.page import status_page_invalidate
from incidents.statuspage.selectors import check_states, component_check_ids
from incidents.statuspage.subscriber_links import (
    CONFIRM_MAX_AGE,
    SubscriptionLinkInvalid,
    address_digest,
    choice_claims,
    confirm_claims,
    confirm_url,
    subscriber_for,
    unsubscribe_claims,
)
from outbox.services import outbox_enqueue

EMAIL_MAX_LENGTH = Subscriber._meta.get_field("email").max_length
CONFIRM_RESEND_SECONDS = 10 * 60
CONFIRM_TEMPLATE = "incidents/emails/subscription_confirm"
# The registered name of incidents.statuspage.tasks.subscriber_confirmation_send: outbox rows
# name their task by it.
CONFIRM_TASK = "incidents.tasks.subscriber_confirmation_send"


def _normalized(email: str) -> str:
    email = BaseUserManager.normalize_email(email.strip())
    if len(email) > EMAIL_MAX_LENGTH:  # type: ignore[operator]  # the model sets a max_length
        raise ValidationError(
            f"An email address has at most {EMAIL_MAX_LENGTH} characters.", code="max_length"
        )
    validate_email(email)
    return email


def _locked(email: str) -> Subscriber | None:
    # By lower(email): the expression the unique index subscriber_email_unique is built on.
    return (
        Subscriber.objects.alias(email_lower=Lower("email"))
        .select_for_update()
        .filter(email_lower=email.lower())
        .first()
    )


def _choose(subscriber: Subscriber, components: Iterable[int]) -> None:
    # Ids of components deleted since the form was shown are dropped, not an error.
    subscriber.components.set(Component.objects.filter(pk__in=list(components)))


@transaction.atomic
def subscriber_signup(*, email: str, components: Iterable[int] = ()) -> Subscriber:
    """Start (or restart) a subscription to `components` (ids; none for the whole page); the
    confirmation mail goes out after commit, through the outbox.

    The choice is taken only for an address that is not confirmed: anyone can type any address
    into the form, so the choice of a confirmed one changes only from the link in its mails
    (subscriber_choice_set)."""
    email = _normalized(email)
    subscriber = _locked(email)
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(email=email)
        except IntegrityError:
            # The same address signed up at the same moment from elsewhere: use that row.
            subscriber = _locked(email)
            if subscriber is None:
                raise
    elif subscriber.unsubscribed_at is not None:
        # Opting back in is a new opt-in: confirm again, or anyone could re-subscribe anyone.
        subscriber.unsubscribed_at = None
        subscriber.confirmed_at = None
        subscriber.save(update_fields=["unsubscribed_at", "confirmed_at"])
    if subscriber.confirmed_at is None:
        _choose(subscriber, components)
        outbox_enqueue(task=CONFIRM_TASK, kwargs={"subscriber_id": subscriber.pk})
    return subscriber


def subscriber_confirmation_send(*, subscriber: Subscriber) -> bool:
    """Mail the confirmation link to a pending address; True if a mail went out.

    Nothing goes to an address that is confirmed or unsubscribed by now, nor to one that was sent
    a confirmation within CONFIRM_RESEND_SECONDS. That gap also makes a second run of the same
    task (acks_late redelivers a task whose worker died) send nothing.
    """
    if subscriber.confirmed_at or subscriber.unsubscribed_at:
        return False
    key = f"incidents:subscriber-confirm-sent:{address_digest(subscriber.email)}"
    # add() is atomic: of two tasks for one address at once, one sends.
    if not cache.add(key, 1, CONFIRM_RESEND_SECONDS):
        return False
    context = {
        "confirm_url": confirm_url(subscriber),
        "chosen": subscriber_chosen(subscriber=subscriber),
        "status_url": settings.HINDSIGHT_BASE_URL + reverse("incidents:status_page"),
        "days": CONFIRM_MAX_AGE.days,
    }
    subject = render_to_string(f"{CONFIRM_TEMPLATE}_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string(f"{CONFIRM_TEMPLATE}_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
    )
    message.attach_alternative(
        render_to_string(f"{CONFIRM_TEMPLATE}_body.html", context), "text/html"
    )
    try:
        message.send()
    except Exception:
        # Let the next sign-up of this address try again instead of waiting out the resend gap.
        cache.delete(key)
        raise
    return True


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    """Confirm the address a confirmation link was sent to; confirming twice changes nothing.

    Raises SubscriptionLinkInvalid for a bad or expired link, or one whose address has since
    unsubscribed (an old link must not undo that).
    """
    claims = confirm_claims(token)
    subscriber = subscriber_for(claims)
    if subscriber is None:
        raise SubscriptionLinkInvalid("This link belongs to a subscription that no longer exists.")
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.unsubscribed_at is not None:
        raise SubscriptionLinkInvalid(
            "This address unsubscribed after the link was sent. Sign up again to resubscribe."
        )
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


def subscriber_chosen(*, subscriber: Subscriber) -> list[str]:
    """What the address chose, as the mails and pages say it: component names (with their
    group), or empty for the whole page."""
    return [
        f"{component.group.name}: {component.name}" if component.group else component.name
        for component in subscriber.components.select_related("group").order_by(
            F("group__order").asc(nulls_last=True), "group__name", "order", "name"
        )
    ]


@transaction.atomic
def subscriber_choice_set(*, token: str, components: Iterable[int]) -> Subscriber | None:
    """Replace the components the address of a choice link hears about (none: the whole page).

    None when the link is genuine but its subscription is gone. Raises SubscriptionLinkInvalid
    when the link is not genuine. An unsubscribed address may change it too; it still gets
    nothing until it signs up again."""
    subscriber = subscriber_for(choice_claims(token))
    if subscriber is None:
        return None
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    _choose(subscriber, components)
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber | None:
    """Stop every mail to the address of an unsubscribe link; repeating it changes nothing.

    None when the link is genuine but its subscription is gone: there is nothing left to stop.
    Raises SubscriptionLinkInvalid when the link is not genuine.
    """
    claims = unsubscribe_claims(token)
    subscriber = subscriber_for(claims)
    if subscriber is None:
        return None
    updated = Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now()
    )
    if updated:
        subscriber.refresh_from_db()
    return subscriber


@transaction.atomic
def subscribers_unsubscribe(*, subscribers: QuerySet[Subscriber]) -> int:
    """Stop every mail to these addresses (the admin's action); an address that had already
    unsubscribed keeps its date. Returns how many were unsubscribed now."""
    return subscribers.filter(unsubscribed_at__isnull=True).update(unsubscribed_at=timezone.now())


MAINTENANCE_FIELDS = frozenset({"service", "title", "description", "starts_at", "ends_at"})


def _checked(maintenance: Maintenance, changes: dict[str, Any]) -> Maintenance:
    unknown = set(changes) - MAINTENANCE_FIELDS
    if unknown:
        raise TypeError(f"Not a maintenance field: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(maintenance, name, value)
    limit = settings.HINDSIGHT_MARKDOWN_MAX_LENGTH
    # Checked before anything renders it: the limit keeps a write (from the admin, say, which has
    # no form limit of its own) from rendering megabytes of Markdown.
    if len(maintenance.description or "") > limit:
        raise ValidationError({"description": f"At most {limit} characters."})
    maintenance.full_clean()
    return maintenance


def maintenance_check(*, maintenance: Maintenance | None = None, **fields: Any) -> None:
    """Raise the ValidationError that saving these fields would raise (on `maintenance`, or on a
    new window), and write nothing: for a form that shows the service's errors beside its
    fields before it saves (the admin's)."""
    _checked(copy.copy(maintenance) if maintenance is not None else Maintenance(), fields)


def _save(maintenance: Maintenance, changes: dict[str, Any]) -> Maintenance:
    _checked(maintenance, changes)
    maintenance.description_html = render(maintenance.description)
    maintenance.save()
    transaction.on_commit(status_page_invalidate)
    return maintenance


@transaction.atomic
def maintenance_create(**fields: Any) -> Maintenance:
    """Save a new window; its subscribers hear that it is scheduled (once, through the
    outbox)."""
    maintenance = _save(Maintenance(), fields)
    maintenance_notice_schedule(maintenance=maintenance)
    return maintenance


@transaction.atomic
def maintenance_update(*, maintenance: Maintenance, **changes: Any) -> Maintenance:
    return _save(maintenance, changes)


@transaction.atomic
def maintenance_delete(*, maintenance: Maintenance) -> None:
    maintenance.delete()
    transaction.on_commit(status_page_invalidate)


# --- Visibility: which incidents the status page shows ------------------------------------


def _who(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _name(user: User | None) -> str:
    acting = _who(user)
    return acting.get_username() if acting is not None else "Hindsight"


def _lock(incident: Incident) -> Incident:
    """The incident's row as it is now, locked until commit."""
    return (
        Incident.objects.select_for_update()
        .only("pk", "started_at", "public_since", "public_by", "public_marked", "version")
        .get(pk=incident.pk)
    )


def _change_visibility(
    incident: Incident, current: Incident, *, user: User | None, line: str, **changes: Any
) -> None:
    """Write `changes` if the row still holds the visibility `current` read, record it, write
    `line` on the timeline (unless empty) and drop the cached page after commit."""
    now = timezone.now()
    updated = Incident.objects.filter(
        pk=current.pk,
        public_since__isnull=current.public_since is None,
        public_marked=current.public_marked,
    ).update(**changes, version=F("version") + 1, updated_at=now)
    # The row is locked: nobody can have changed it between the read and this write.
    assert updated == 1, "the incident's visibility changed under its lock"
    incident.refresh_from_db()
    history_record(obj=incident, user=user)
    if line:
        timeline_event_add(
            incident=incident,
            occurred_at=max(now, incident.started_at),
            text=line,
            kind=TimelineEvent.Kind.COMMUNICATION,
            source=TimelineEvent.Source.SYSTEM,
            created_by=_who(user),
        )
    transaction.on_commit(partial(status_page_invalidate, incident_number=incident.number))


@transaction.atomic
def incident_publish(*, incident: Incident, user: User | None) -> Incident:
    """Put the incident on the status page and in its feeds now, marked public: it stays there
    when its published updates are withdrawn, until someone makes it internal. One that its
    updates made public already keeps since when and by whom. Marking it twice changes nothing.
    """
    current = _lock(incident)
    if current.public_marked:
        incident.refresh_from_db()
        return incident
    if current.public_since is None:
        _change_visibility(
            incident,
            current,
            user=user,
            line=f"Put on the status page by {_name(user)}.",
            public_since=timezone.now(),
            public_by=_who(user),
            public_marked=True,
        )
    else:
        _change_visibility(
            incident,
            current,
            user=user,
            line=f"Marked public by {_name(user)}: it stays on the status page if its "
            "updates are withdrawn.",
            public_marked=True,
        )
    return incident


@transaction.atomic
def incident_unpublish(*, incident: Incident, user: User | None) -> Incident:
    """Take the incident off the status page and its feeds, whatever it has published: the
    updates stay on its record, and the next update published puts it back. Taking off an
    internal incident changes nothing."""
    current = _lock(incident)
    if current.public_since is None:
        incident.refresh_from_db()
        return incident
    _change_visibility(
        incident,
        current,
        user=user,
        line=f"Taken off the status page by {_name(user)}.",
        public_since=None,
        public_by=None,
        public_marked=False,
    )
    return incident


def _standing_updates(incident: Incident) -> QuerySet[Communication]:
    return Communication.objects.filter(
        incident_id=incident.pk,
        # The public post-mortem stands on the page too, like an update.
        audience__in=(Audience.STATUS_PAGE, Audience.PUBLIC_POSTMORTEM),
        status=Communication.Status.SENT,
        retracted_at__isnull=True,
    )


@transaction.atomic
def incident_publish_with_update(
    *, incident: Incident, user: User | None, at: datetime
) -> Incident:
    """An update of it was published at `at`: the incident is public from then, if it was not
    already. The update's own line on the timeline says so; this writes none."""
    current = _lock(incident)
    if current.public_since is not None:
        return incident
    _change_visibility(incident, current, user=user, line="", public_since=at, public_by=_who(user))
    return incident


@transaction.atomic
def incident_unpublish_after_withdrawal(*, incident: Incident, user: User | None) -> Incident:
    """An update of it was withdrawn: with no published update left standing, an incident that
    was not marked public goes off the status page."""
    current = _lock(incident)
    if (
        current.public_since is None
        or current.public_marked
        or _standing_updates(incident).exists()
    ):
        return incident
    _change_visibility(
        incident,
        current,
        user=user,
        line="Off the status page: its last published update was withdrawn.",
        public_since=None,
        public_by=None,
    )
    return incident


# --- Components and their status ----------------------------------------------------------
#
# A component's status is said by people: an editor sets it (or accepts what its checks
# propose), or a published status page update sets it for the components it names. A component
# that follows its checks takes their proposal by itself whenever a service's health changes
# (the "health_changed" event, subscribed from IncidentsConfig.ready()). Every change is a
# compare-and-set on the status that was read, so two editors never overwrite each other.


class ComponentStatusConflict(Exception):
    """The component's status (or its checks' proposal) changed since the editor read it."""


def _status_checked(status: str) -> str:
    if status not in ComponentStatus.values:
        raise ValidationError(f"Unknown component status {status!r}.", code="invalid")
    return status


def _proposal(check_ids: list[int], states: dict[int, Any], resting: set[int]) -> str | None:
    checked = [states[pk] for pk in check_ids if pk in states and states[pk]["at"] is not None]
    if not checked:
        return None
    failing = [s for s in checked if not s["ok"] and not s["maintenance"]]
    if failing:
        if len(failing) == len(checked):
            return ComponentStatus.MAJOR_OUTAGE
        return ComponentStatus.PARTIAL_OUTAGE
    if any(s["maintenance"] or s["id"] in resting for s in checked):
        return ComponentStatus.UNDER_MAINTENANCE
    return ComponentStatus.OPERATIONAL


def component_status_proposals(
    *, component_ids: list[int], now: datetime | None = None
) -> dict[int, str | None]:
    """What each component's checks propose, by component id (None: no check has answered).

    A failing check proposes a partial outage, all of them failing a major one; with none
    failing, a check inside a maintenance window (or whose last failure was excused by one)
    proposes under maintenance; all passing proposes operational. Three queries, however many
    components.
    """
    now = now or timezone.now()
    watched = component_check_ids(component_ids=component_ids)
    states = check_states(check_ids=sorted({pk for ids in watched.values() for pk in ids}))
    checks = [
        HealthCheck(pk=s["id"], service_id=s["service_id"], environment_id=s["environment_id"])
        for s in states.values()
    ]
    resting = checks_in_maintenance(checks=checks, at=now)
    return {pk: _proposal(ids, states, resting) for pk, ids in watched.items()}


def component_status_propose(*, component: Component, now: datetime | None = None) -> str | None:
    """What the checks `component` watches propose for its status (see
    component_status_proposals); shown to editors, who accept or override it."""
    return component_status_proposals(component_ids=[component.pk], now=now)[component.pk]


def _set(
    component_id: int, *, status: str, expected: str | None, user: User | None, at: datetime
) -> bool:
    rows = Component.objects.filter(pk=component_id)
    if expected is not None:
        rows = rows.filter(status=expected)
    updated = rows.update(status=status, status_changed_at=at, status_changed_by=user)
    if updated:
        transaction.on_commit(status_page_invalidate)
    return updated == 1


@transaction.atomic
def component_set_status(
    *,
    component: Component,
    status: str,
    user: User | None,
    expected: str | None = None,
    at: datetime | None = None,
) -> Component:
    """Set the component's status. `expected` is the status the editor saw: when it changed
    since, nothing is written and ComponentStatusConflict is raised."""
    _status_checked(status)
    at = at or timezone.now()
    if not _set(component.pk, status=status, expected=expected, user=user, at=at):
        component.refresh_from_db()
        raise ComponentStatusConflict(
            f"{component.name} is {component.get_status_display().lower()} now; "
            "someone changed it since you looked."
        )
    component.refresh_from_db()
    return component


@transaction.atomic
def component_proposal_accept(
    *, component: Component, proposed: str, expected: str, user: User | None
) -> Component:
    """Take what the checks propose, as the editor saw it (`proposed`, over `expected`)."""
    if component_status_propose(component=component) != proposed:
        raise ComponentStatusConflict("The checks propose something else now; look again.")
    return component_set_status(component=component, status=proposed, expected=expected, user=user)


def components_follow_checks(*, component_ids: list[int] | None = None) -> int:
    """Give every component that follows its checks (of `component_ids`, or all) the status
    they propose; returns how many changed. Runs in the caller's transaction."""
    following = Component.objects.filter(follows_checks=True)
    if component_ids is not None:
        following = following.filter(pk__in=component_ids)
    current = dict(following.values_list("pk", "status"))
    if not current:
        return 0
    now = timezone.now()
    changed = 0
    for pk, proposal in component_status_proposals(component_ids=list(current), now=now).items():
        if proposal is not None and proposal != current[pk]:
            # Compare-and-set on the status read and on still following: an editor who just
            # took the component over is not overwritten.
            changed += Component.objects.filter(
                pk=pk, status=current[pk], follows_checks=True
            ).update(status=proposal, status_changed_at=now, status_changed_by=None)
    if changed:
        transaction.on_commit(status_page_invalidate)
    return changed


def components_follow_health(*, change: HealthChange) -> None:
    """The "health_changed" handler: the components watching the changed service's checks and
    following them take what the checks propose now."""
    ids = list(
        Component.objects.filter(
            follows_checks=True, health_checks__service_id=change.service_id
        ).values_list("pk", flat=True)
    )
    if ids:
        components_follow_checks(component_ids=sorted(set(ids)))


@transaction.atomic
def communication_components_set(*, communication: Communication, statuses: dict[int, str]) -> None:
    """Name the components a status page update affects and the status it sets for each (by
    component id); replaces what the draft named before. Only drafts and approved ones."""
    if communication.audience != Audience.STATUS_PAGE:
        raise ValidationError("Only a status page update names components.")
    if communication.status == Communication.Status.SENT:
        raise ValidationError("A published update is not changed; correct it instead.")
    for status in statuses.values():
        _status_checked(status)
    known = set(Component.objects.filter(pk__in=statuses).values_list("pk", flat=True))
    CommunicationComponent.objects.filter(communication=communication).delete()
    CommunicationComponent.objects.bulk_create(
        CommunicationComponent(communication=communication, component_id=pk, status=status)
        for pk, status in statuses.items()
        if pk in known
    )


def components_set_by_update(
    *, communication: Communication, user: User | None, at: datetime
) -> int:
    """Publishing a status page update sets the status of the components it names (called by
    communication_send, in its transaction). The update says it, whatever stood: no
    compare-and-set on the previous status, and a component following its checks keeps
    following them at their next change."""
    changed = 0
    for pk, status in CommunicationComponent.objects.filter(
        communication=communication
    ).values_list("component_id", "status"):
        changed += _set(pk, status=status, expected=None, user=user, at=at)
    return changed


# --- Components and groups: creating, editing, deleting -------------------------------------
#
# What a component is (its name, group, order, the checks it watches, whether it follows them)
# is the editors' to say, from the components pages or the admin. Its status is not written
# here: that goes through component_set_status and the others above, which compare and set.

COMPONENT_GROUP_FIELDS = frozenset({"name", "order"})
COMPONENT_FIELDS = frozenset({"name", "group", "order", "follows_checks"})


def _apply(row: Any, changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"Not a field this service sets: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(row, name, value)
    # The model's validation (lengths, a group's unique name): the same errors from a page, the
    # admin or a shell, raised before anything is written.
    row.full_clean(exclude=["status", "status_changed_at", "status_changed_by"])


@transaction.atomic
def component_group_save(*, group: ComponentGroup | None = None, **fields: Any) -> ComponentGroup:
    """Create a group (no `group`) or change one; `fields` are name and order."""
    group = group if group is not None else ComponentGroup()
    _apply(group, fields, COMPONENT_GROUP_FIELDS)
    group.save()
    transaction.on_commit(status_page_invalidate)
    return group


@transaction.atomic
def component_group_delete(*, group: ComponentGroup) -> None:
    """Its components stay, shown on their own (the foreign key sets null)."""
    group.delete()
    transaction.on_commit(status_page_invalidate)


@transaction.atomic
def component_save(
    *,
    component: Component | None = None,
    health_checks: Iterable[HealthCheck] | None = None,
    **fields: Any,
) -> Component:
    """Create a component (no `component`) or change one; `fields` are name, group, order and
    follows_checks. `health_checks`, when given, replaces the checks it watches (None keeps
    them). A component that follows its checks takes what they propose at once, not at their
    next change, so turning it on shows the checks' word straight away."""
    component = component if component is not None else Component()
    _apply(component, fields, COMPONENT_FIELDS)
    component.save()
    if health_checks is not None:
        component.health_checks.set(list(health_checks))
    if component.follows_checks:
        components_follow_checks(component_ids=[component.pk])
        component.refresh_from_db()
    transaction.on_commit(status_page_invalidate)
    return component


@transaction.atomic
def component_delete(*, component: Component) -> None:
    """Gone from the status page, and from the updates that named it (published ones keep
    their text)."""
    component.delete()
    transaction.on_commit(status_page_invalidate)
