"""The public status page, its feeds, and the subscriber pages: the only pages without a login.

The page is rendered once per PAGE_CACHE_SECONDS into the shared cache, with a placeholder where
the sign-up form's CSRF token goes, and each process keeps the copy it last read until it
expires; a request swaps in its own token, so the hot path is a dict lookup and a bytes replace.
Its ETag is the rendered content's digest plus a digest of the visitor's CSRF cookie (the token in
a page they kept is only good with the cookie it was made for), and a repeat visitor whose copy is
current gets 304 with no body.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from incidents import services
from incidents.feeds import StatusAtomFeed, StatusRssFeed
from incidents.forms.status_page import SubscribeForm
from incidents.status_page import (
    LOCAL_PAGE,
    PAGE_CACHE_KEY,
    PAGE_CACHE_SECONDS,
    status_page_build,
)
from incidents.subscriptions import (
    SubscriptionLinkInvalid,
    confirm_claims,
    subscriber_for,
    unsubscribe_claims,
)

CSRF_PLACEHOLDER = "csrf-token-placeholder-c1d0"
TEMPLATE_DIR = "incidents/status"
# Sign-ups per address of the asker per SIGNUP_WINDOW_SECONDS: enough for an office behind one
# router, too few to mail-bomb strangers through the form (each address also gets at most one
# confirmation per CONFIRM_RESEND_SECONDS, whoever asks).
SIGNUP_LIMIT = 10
SIGNUP_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class _Rendered:
    digest: str
    # The page split around the CSRF placeholder: joining three parts copies once, where a
    # replace() would search the whole page on every request.
    parts: tuple[bytes, bytes]
    # Wall-clock time (shared by every process) when the page stops being fresh enough.
    expires_at: float


def _rendered() -> _Rendered:
    now = time.time()
    rendered = LOCAL_PAGE.get("rendered")
    if isinstance(rendered, _Rendered) and now < rendered.expires_at:
        return rendered
    rendered = cache.get(PAGE_CACHE_KEY)
    if rendered is None or now >= rendered.expires_at:
        html = render_to_string(
            f"{TEMPLATE_DIR}/page.html",
            {"page": status_page_build(), "form": SubscribeForm(), "csrf": CSRF_PLACEHOLDER},
        )
        body = html.encode()
        # The form is the page's last part, so nothing typed above it can take its place.
        before, _, after = body.rpartition(CSRF_PLACEHOLDER.encode())
        rendered = _Rendered(
            digest=hashlib.sha256(body).hexdigest()[:20],
            parts=(before, after),
            expires_at=now + PAGE_CACHE_SECONDS,
        )
        cache.set(PAGE_CACHE_KEY, rendered, PAGE_CACHE_SECONDS)
    LOCAL_PAGE["rendered"] = rendered
    return rendered


def _etag(digest: str, csrf_secret: str | None) -> str:
    cookie = hashlib.sha256((csrf_secret or "").encode()).hexdigest()[:10]
    # Weak: each answer masks the token afresh, so equal pages are not equal bytes.
    return f'W/"{digest}.{cookie}"'


def _matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == opaque for tag in parse_etags(header))


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    rendered = _rendered()
    etag = _etag(rendered.digest, request.META.get("CSRF_COOKIE"))
    if _matches(request, etag):
        response = HttpResponseNotModified()
    else:
        before, after = rendered.parts
        response = HttpResponse(
            b"".join((before, get_token(request).encode(), after)),
            content_type="text/html; charset=utf-8",
        )
        # get_token made a cookie for a first visit; the ETag names the one the page fits.
        etag = _etag(rendered.digest, request.META.get("CSRF_COOKIE"))
    # The body holds a token tied to the visitor's cookie (a 304 repeats a 200's headers).
    patch_vary_headers(response, ("Cookie",))
    response["ETag"] = etag
    # Always revalidate (cheap: a 304), and no shared cache: the page holds this visitor's token.
    response["Cache-Control"] = "private, no-cache"
    return response


def _client_address(request: HttpRequest) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    if settings.SECURE_PROXY_SSL_HEADER:
        # Behind the TLS proxy (BEHIND_TLS_PROXY) every request comes from the proxy; the last
        # X-Forwarded-For entry is the one it appended, the only one the client cannot type.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        address = forwarded or address
    return address or "unknown"


def _signup_allowed(request: HttpRequest) -> bool:
    key = "incidents:signup-ip:" + hashlib.sha256(_client_address(request).encode()).hexdigest()
    cache.add(key, 0, SIGNUP_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:
        # Expired between add and incr: this is the first of a new window.
        cache.set(key, 1, SIGNUP_WINDOW_SECONDS)
        count = 1
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
                services.subscriber_signup(email=form.cleaned_data["email"])
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
            subscriber = services.subscriber_confirm(token=token)
            return render(request, f"{TEMPLATE_DIR}/confirmed.html", {"subscriber": subscriber})
        subscriber = subscriber_for(confirm_claims(token))
    except SubscriptionLinkInvalid as error:
        return _invalid_link(request, error)
    if subscriber is None:
        return _invalid_link(
            request, SubscriptionLinkInvalid("This link belongs to a subscription that is gone.")
        )
    return render(request, f"{TEMPLATE_DIR}/confirm.html", {"subscriber": subscriber})


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
        request, f"{TEMPLATE_DIR}/unsubscribe.html", {"subscriber": subscriber, "token": token}
    )


urlpatterns = [
    path("", status_page, name="status_page"),
    path("feed.rss", StatusRssFeed(), name="status_feed_rss"),
    path("feed.atom", StatusAtomFeed(), name="status_feed_atom"),
    path("subscribe/", subscribe, name="status_subscribe"),
    path("subscribe/sent/", subscribe_sent, name="status_subscribe_sent"),
    path("confirm/<str:token>/", confirm, name="status_confirm"),
    path("unsubscribe/<str:token>/", unsubscribe, name="status_unsubscribe"),
]
