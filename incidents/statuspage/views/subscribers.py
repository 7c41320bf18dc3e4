"""The subscriber pages, public like the status page: signing up (counted per address of the
asker, in the shared cache or, with Redis down, in this process's memory), confirming,
unsubscribing (RFC 8058 one-click too), and choosing the components an address hears about."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from core.ratelimited_log import RateLimitedLog
from incidents.models import Subscriber
from incidents.statuspage import services
from incidents.statuspage.forms import ComponentChoiceForm, SubscribeForm
from incidents.statuspage.subscriber_links import (
    SubscriptionLinkInvalid,
    choice_claims,
    confirm_claims,
    subscriber_for,
    unsubscribe_claims,
)
from incidents.statuspage.views._common import TEMPLATE_DIR

logger = logging.getLogger(__name__)


def new_cache_log() -> RateLimitedLog:
    return RateLimitedLog(logger, seconds=60)


# Redis down fails every sign-up the same way: said once a minute, not once a request.
cache_trouble = new_cache_log()


def cache_failed(error: Exception) -> None:
    cache_trouble.warning(
        "Status page sign-ups: the shared cache failed, counting in this process: %s: %s",
        type(error).__name__,
        error,
    )


# Sign-ups per address of the asker per SIGNUP_WINDOW_SECONDS: enough for an office behind one
# router, too few to mail-bomb strangers through the form (each address also gets at most one
# confirmation per CONFIRM_RESEND_SECONDS, whoever asks).
SIGNUP_LIMIT = 10
SIGNUP_WINDOW_SECONDS = 3600


def _client_address(request: HttpRequest) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    if settings.SECURE_PROXY_SSL_HEADER:
        # Behind the TLS proxy (BEHIND_TLS_PROXY) every request comes from the proxy; the last
        # X-Forwarded-For entry is the one it appended, the only one the client cannot type.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        address = forwarded or address
    return address or "unknown"


# Where sign-ups are counted while the shared cache is down: this process's own memory. The
# limit then holds per process rather than across them, which still keeps the form from being
# turned on someone's inbox, and the sign-up itself never depends on Redis.
_local_counts = LocMemCache("incidents-signup-counts", {})


def _count(store: BaseCache, key: str) -> int:
    store.add(key, 0, SIGNUP_WINDOW_SECONDS)
    try:
        return store.incr(key)
    except ValueError:
        # Expired between add and incr: this is the first of a new window.
        store.set(key, 1, SIGNUP_WINDOW_SECONDS)
        return 1


def _signup_allowed(request: HttpRequest) -> bool:
    key = "incidents:signup-ip:" + hashlib.sha256(_client_address(request).encode()).hexdigest()
    try:
        count = _count(cache, key)
    except Exception as error:  # the shared cache is down; Redis raises its own errors
        cache_failed(error)
        count = _count(_local_counts, key)
    return count <= SIGNUP_LIMIT


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_valid():
        if not _signup_allowed(request):
            form.add_error(
                "email", "Too many sign-ups from your network just now. Try again in an hour."
            )
            status = 429
        else:
            try:
                services.subscriber_signup(
                    email=form.cleaned_data["email"], components=form.chosen()
                )
            except ValidationError as error:
                form.add_error("email", error)
            else:
                return redirect("incidents:status_subscribe_sent")
    if form.errors and status == 200:
        status = 422
    return render(request, f"{TEMPLATE_DIR}/subscribe.html", {"form": form}, status=status)


@require_GET
def subscribe_sent(request: HttpRequest) -> HttpResponse:
    return render(request, f"{TEMPLATE_DIR}/subscribe_sent.html")


def _invalid_link(request: HttpRequest, error: SubscriptionLinkInvalid) -> HttpResponse:
    return render(
        request, f"{TEMPLATE_DIR}/link_invalid.html", {"message": error.message}, status=400
    )


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST confirms: mail scanners that open every link must not opt anyone in."""
    try:
        if request.method == "POST":
            subscriber: Subscriber | None = services.subscriber_confirm(token=token)
            return render(
                request, f"{TEMPLATE_DIR}/confirmed.html", _subscriber_context(subscriber)
            )
        subscriber = subscriber_for(confirm_claims(token))
    except SubscriptionLinkInvalid as error:
        return _invalid_link(request, error)
    if subscriber is None:
        return _invalid_link(
            request, SubscriptionLinkInvalid("This link belongs to a subscription that is gone.")
        )
    return render(request, f"{TEMPLATE_DIR}/confirm.html", _subscriber_context(subscriber))


# RFC 8058: a mail client's one-click unsubscribe is a POST with no cookie and no CSRF token.
# The signed token in the URL is the proof that the request comes from the mail, which is what
# the CSRF check would prove for a form.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (link scanners must not unsubscribe anyone), POST unsubscribes."""
    try:
        if request.method == "POST":
            services.subscriber_unsubscribe(token=token)
            return render(request, f"{TEMPLATE_DIR}/unsubscribed.html")
        subscriber = subscriber_for(unsubscribe_claims(token))
    except SubscriptionLinkInvalid as error:
        return _invalid_link(request, error)
    return render(
        request,
        f"{TEMPLATE_DIR}/unsubscribe.html",
        {**_subscriber_context(subscriber), "token": token},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def subscription(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every mail: which components the address hears about, and a form to change
    it. A form with a CSRF token (unlike one-click unsubscribe), since nothing here is urgent."""
    try:
        subscriber = subscriber_for(choice_claims(token))
    except SubscriptionLinkInvalid as error:
        return _invalid_link(request, error)
    if subscriber is None:
        return _invalid_link(
            request, SubscriptionLinkInvalid("This link belongs to a subscription that is gone.")
        )
    saved = False
    if request.method == "POST":
        form = ComponentChoiceForm(request.POST)
        if form.is_valid():
            services.subscriber_choice_set(token=token, components=form.chosen())
            saved = True
    else:
        form = ComponentChoiceForm(
            initial={"components": list(subscriber.components.values_list("pk", flat=True))}
        )
    status = 422 if form.errors else 200
    return render(
        request,
        f"{TEMPLATE_DIR}/subscription.html",
        {**_subscriber_context(subscriber), "form": form, "saved": saved},
        status=status,
    )


def _subscriber_context(subscriber: Subscriber | None) -> dict[str, Any]:
    chosen = services.subscriber_chosen(subscriber=subscriber) if subscriber else []
    return {"subscriber": subscriber, "chosen": chosen}
