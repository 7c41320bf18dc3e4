"""Subscribers' links: confirm (double opt-in) and unsubscribe, signed, with no token table.

A token is django.core.signing over the subscriber's id and a digest of the address, salted per
purpose, so a confirmation link never unsubscribes and an unsubscribe link never confirms. The
digest rather than the address keeps addresses out of URLs (and so out of proxy logs), and ties a
token to the address it was sent to: an address changed in the admin invalidates old links.

Confirmation links expire after CONFIRM_MAX_AGE. Unsubscribe and choice links never do: RFC 8058 asks that
the link in any message ever sent keeps working.

A third link, choice_url(), lets the address change which components it hears about.

Email code imports confirm_url(), unsubscribe_url() and choice_url(); both are absolute, built on
HINDSIGHT_BASE_URL, because a Celery task has no request to ask for the host.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from incidents.models import Subscriber

CONFIRM_SALT = "incidents.subscriber.confirm"
UNSUBSCRIBE_SALT = "incidents.subscriber.unsubscribe"
CHOICE_SALT = "incidents.subscriber.choice"
CONFIRM_MAX_AGE = timedelta(days=7)


class SubscriptionLinkInvalid(Exception):
    """A link whose signature does not hold, that was cut short, or that has expired."""

    def __init__(self, message: str = "This link is not valid.") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    subscriber_id: int
    address_digest: str


def address_digest(email: str) -> str:
    """Case-insensitive, like the unique constraint on addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _token(subscriber: Subscriber, *, salt: str) -> str:
    return signing.dumps({"s": subscriber.pk, "a": address_digest(subscriber.email)}, salt=salt)


def confirm_token(subscriber: Subscriber) -> str:
    return _token(subscriber, salt=CONFIRM_SALT)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return _token(subscriber, salt=UNSUBSCRIBE_SALT)


def choice_token(subscriber: Subscriber) -> str:
    return _token(subscriber, salt=CHOICE_SALT)


def choice_url(subscriber: Subscriber) -> str:
    """The link in every mail to change which components the address hears about; like the
    unsubscribe link it never expires, and it confirms nothing."""
    path = reverse("incidents:status_subscription", args=[choice_token(subscriber)])
    return f"{settings.HINDSIGHT_BASE_URL}{path}"


def confirm_url(subscriber: Subscriber) -> str:
    """The double opt-in link of the confirmation mail; it expires after CONFIRM_MAX_AGE."""
    path = reverse("incidents:status_confirm", args=[confirm_token(subscriber)])
    return f"{settings.HINDSIGHT_BASE_URL}{path}"


def unsubscribe_url(subscriber: Subscriber) -> str:
    """The one-click link for every mail's body and its List-Unsubscribe header (RFC 8058):
    a GET shows a button, a POST unsubscribes at once."""
    path = reverse("incidents:status_unsubscribe", args=[unsubscribe_token(subscriber)])
    return f"{settings.HINDSIGHT_BASE_URL}{path}"


def _claims(token: str, *, salt: str, max_age: timedelta | None) -> TokenClaims:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise SubscriptionLinkInvalid(
            "This confirmation link has expired. Sign up again on the status page for a new one."
        ) from error
    except signing.BadSignature as error:
        raise SubscriptionLinkInvalid(
            "This link is not valid. It may have been cut short: copy the whole link from the "
            "email."
        ) from error
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("s"), int)
        or not isinstance(payload.get("a"), str)
    ):
        raise SubscriptionLinkInvalid()
    return TokenClaims(subscriber_id=payload["s"], address_digest=payload["a"])


def confirm_claims(token: str) -> TokenClaims:
    return _claims(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)


def unsubscribe_claims(token: str) -> TokenClaims:
    return _claims(token, salt=UNSUBSCRIBE_SALT, max_age=None)


def choice_claims(token: str) -> TokenClaims:
    return _claims(token, salt=CHOICE_SALT, max_age=None)


def subscriber_for(claims: TokenClaims) -> Subscriber | None:
    """The subscriber a valid token names, or None when the row is gone or its address changed."""
    subscriber = Subscriber.objects.filter(pk=claims.subscriber_id).first()
    if subscriber is None or address_digest(subscriber.email) != claims.address_digest:
        return None
    return subscriber
