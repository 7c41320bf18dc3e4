"""Subscribers: sign up, confirm by a link (double opt-in), choose components, unsubscribe.

A sign-up answers the same whatever the address's state, so the form never tells anyone who is
subscribed: a new or pending address gets a confirmation mail (at most one per
CONFIRM_RESEND_SECONDS, so the form cannot be turned on someone's inbox), a confirmed address gets
nothing, and an address that unsubscribed starts again as pending and must confirm again.
Until it is confirmed an address receives nothing but the confirmation.

The confirmation goes through the outbox, as the other mail does: the sign-up writes an outbox
row in its own transaction, so the mail leaves only if the sign-up commits, the request never
waits on the broker or the mail server, and a task the broker could not take at once is
published later by the outbox's relay (incidents.statuspage.tasks sends the mail).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
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

from incidents.models import Component, Subscriber
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
