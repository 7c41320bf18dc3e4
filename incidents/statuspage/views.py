"""The public status page, its feeds, and the subscriber pages: the only pages without a login.
Behind the login: the maintenance pages, the components pages (their status, and creating and
editing them and their groups), and the switch on an incident's page that puts it on the
status page or takes it off.

The page is the same bytes for every visitor: it carries no form and no CSRF token (the sign-up
form is on its own page, /status/subscribe/, which is not cached and has its own token). So the
rendered bytes are kept whole in Django's cache for PAGE_CACHE_SECONDS, their digest is the
ETag, and a repeat visitor whose copy is current gets 304 with no body. The gzipped bytes are
kept beside them, made once when the page is rendered, so no request compresses it: a client
that accepts gzip gets them under an ETag of their own, with Vary: Accept-Encoding. Each public incident's
own page is kept the same way, under its own key (a 404 too, so asking for internal incidents
costs no query per request); the history pages are read from the database each time: two
indexed queries for a page nobody refreshes during an outage.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from core.http import AuthenticatedHttpRequest
from core.kept_forms import form_kept, keeps_typed_text
from core.permissions import editor_required, login_required
from incidents.models import Component, ComponentGroup, ComponentStatus, Maintenance, Subscriber
from incidents.models.incident import REFERENCE_RE
from incidents.postmortem.views import get_incident
from incidents.statuspage import machine, services
from incidents.statuspage.forms import (
    ComponentChoiceForm,
    ComponentForm,
    ComponentGroupForm,
    MaintenanceForm,
    SubscribeForm,
)
from incidents.statuspage.page import (
    INCIDENT_CACHE_KEY,
    PAGE_CACHE_KEY,
    PAGE_CACHE_SECONDS,
    cache_failed,
    cached,
    public_history_page,
    public_incident,
    status_page_build,
)
from incidents.statuspage.subscriber_links import (
    SubscriptionLinkInvalid,
    choice_claims,
    confirm_claims,
    subscriber_for,
    unsubscribe_claims,
)

TEMPLATE_DIR = "incidents/status"
# Sign-ups per address of the asker per SIGNUP_WINDOW_SECONDS: enough for an office behind one
# router, too few to mail-bomb strangers through the form (each address also gets at most one
# confirmation per CONFIRM_RESEND_SECONDS, whoever asks).
SIGNUP_LIMIT = 10
SIGNUP_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    etag: str
    # False for an incident that is not public (or not there): the cached answer is a 404.
    found: bool = True
    # The body gzipped, for clients that accept it; its ETag is etag with "-gz" inside the quotes.
    gzipped: bytes = b""

    @property
    def gzip_etag(self) -> str:
        return f'{self.etag[:-1]}-gz"'


def _gzip(body: bytes) -> bytes:
    # No timestamp in the header: every process makes the same bytes from the same body.
    return gzip.compress(body, compresslevel=6, mtime=0)


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding names gzip (or *) without q=0."""
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower().removeprefix("q=")
            try:
                return not params.strip() or float(quality) > 0
            except ValueError:
                return False
    return False


def _rendered(template: str, context: dict[str, object]) -> RenderedPage:
    body = render_to_string(f"{TEMPLATE_DIR}/{template}", context).encode()
    # Strong: equal tags are equal bytes, whoever asked and whichever process rendered them.
    return RenderedPage(
        body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:20]}"', gzipped=_gzip(body)
    )


def _render() -> RenderedPage:
    return _rendered("page.html", {"page": status_page_build()})


def _render_incident(number: int) -> RenderedPage:
    incident = public_incident(number=number)
    if incident is None:
        return RenderedPage(body=b"", etag="", found=False)
    return _rendered("incident.html", {"incident": incident})


def _same_bytes_for_everyone(request: HttpRequest, page: RenderedPage) -> HttpResponse:
    if page.gzipped and accepts_gzip(request):
        response = HttpResponse(page.gzipped, content_type="text/html; charset=utf-8")
        response["Content-Encoding"] = "gzip"
        etag = page.gzip_etag
    else:
        response = HttpResponse(page.body, content_type="text/html; charset=utf-8")
        etag = page.etag
    response["ETag"] = etag
    response["Content-Length"] = str(len(response.content))
    patch_vary_headers(response, ("Accept-Encoding",))
    # Any cache may keep it (it is the same for everyone) but must ask again before reusing it:
    # a 304 is cheap, and the page must not go stale during an incident.
    response["Cache-Control"] = "no-cache"
    # Without a precondition that fails, the response it was given comes back.
    return get_conditional_response(request, etag=etag, response=response) or response


# Below this a gzipped answer saves nothing worth the header (Django's GZipMiddleware agrees).
GZIP_MIN_BYTES = 200


def compressed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gzip the view's answer for clients that accept it, for public answers built per request
    from cached rows (history, feeds, summary). Unlike Django's GZipMiddleware it adds no random
    padding (the BREACH mitigation): these answers hold no secret, so equal bodies stay equal
    bytes."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.streaming or response.status_code != 200:
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if (
            accepts_gzip(request)
            and not response.has_header("Content-Encoding")
            and len(response.content) >= GZIP_MIN_BYTES
        ):
            response.content = _gzip(response.content)
            response["Content-Encoding"] = "gzip"
            response["Content-Length"] = str(len(response.content))
        return response

    return wrapper


@require_safe
def status_incident(request: HttpRequest, reference: str) -> HttpResponse:
    """A public incident's own page: its updates (withdrawn ones marked so) and its public
    post-mortem. 404 for an internal incident or a duplicate, as for one that does not exist."""
    match = REFERENCE_RE.match(reference)
    if match is None:
        raise Http404("No such incident.")
    number = int(match.group(1))
    page = cached(INCIDENT_CACHE_KEY.format(number=number), lambda: _render_incident(number))
    if not page.found:
        raise Http404("No such incident.")
    return _same_bytes_for_everyone(request, page)


@compressed
@require_safe
def status_history(request: HttpRequest) -> HttpResponse:
    """Every public incident, newest first, a page at a time."""
    page, entries = public_history_page(page=request.GET.get("page"))
    return render(request, f"{TEMPLATE_DIR}/history.html", {"page": page, "entries": entries})


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    return _same_bytes_for_everyone(request, cached(PAGE_CACHE_KEY, _render))


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


PAST_SHOWN = 20
FORM_TEMPLATE = "incidents/maintenance_form.html"


@require_GET
@login_required
def maintenance_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    windows = Maintenance.objects.select_related("service")
    return render(
        request,
        "incidents/maintenance_list.html",
        {
            # maintenance_ends_idx serves both: not ended yet, and the latest that have.
            "current": windows.filter(ends_at__gt=now).order_by("starts_at", "pk"),
            "past": windows.filter(ends_at__lte=now).order_by("-ends_at", "-pk")[:PAST_SHOWN],
            "now": now,
        },
    )


def _save(form: MaintenanceForm) -> Maintenance | None:
    """The service's own checks come back as field errors, like the form's."""
    try:
        if form.instance.pk is None:
            return services.maintenance_create(**form.cleaned_data)
        return services.maintenance_update(maintenance=form.instance, **form.cleaned_data)
    except ValidationError as error:
        by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, field_errors in by_field.items():
            form.add_error(name if name in form.fields else None, field_errors)
    return None


def _form_page(request: HttpRequest, form: MaintenanceForm) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        maintenance = _save(form)
        if maintenance is not None:
            messages.success(request, f"Saved: {maintenance.title}")
            return redirect("incidents:maintenance_list")
    status = 422 if form.errors else 200
    return render(request, FORM_TEMPLATE, {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def maintenance_create(request: HttpRequest) -> HttpResponse:
    kept = form_kept(request) if request.method == "GET" else None
    if request.method == "POST" or kept is not None:
        form = MaintenanceForm(request.POST if request.method == "POST" else kept)
    else:
        start = (timezone.localtime() + timedelta(days=1)).replace(
            minute=0, second=0, microsecond=0
        )
        form = MaintenanceForm(initial={"starts_at": start, "ends_at": start + timedelta(hours=1)})
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def maintenance_edit(request: HttpRequest, pk: int) -> HttpResponse:
    maintenance = get_object_or_404(Maintenance, pk=pk)
    data = request.POST if request.method == "POST" else form_kept(request)
    form = MaintenanceForm(data, instance=maintenance)
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
@editor_required
def maintenance_delete(request: HttpRequest, pk: int) -> HttpResponse:
    maintenance = get_object_or_404(Maintenance, pk=pk)
    if request.method == "POST":
        services.maintenance_delete(maintenance=maintenance)
        messages.success(request, f"Deleted: {maintenance.title}")
        return redirect("incidents:maintenance_list")
    return render(request, "incidents/maintenance_delete.html", {"maintenance": maintenance})


# --- Whether an incident is on the status page (editors, from the incident's page) ---------


def _back_to_visibility(reference: str) -> HttpResponse:
    return redirect(reverse("incidents:detail", args=[reference]) + "#visibility")


@require_POST
@editor_required
def incident_publish(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Put the incident on the status page (the page asked first, showing what goes public)."""
    incident = get_incident(reference)
    services.incident_publish(incident=incident, user=request.user)
    messages.success(request, f"{incident.reference} is on the status page now.")
    return _back_to_visibility(incident.reference)


@require_POST
@editor_required
def incident_unpublish(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    incident = get_incident(reference)
    services.incident_unpublish(incident=incident, user=request.user)
    messages.success(request, f"{incident.reference} is internal now: off the status page.")
    return _back_to_visibility(incident.reference)


# --- For machines and embeds: the JSON summary and the badges -----------------------------

# Any site may read the summary from a browser: it is public, and no credentials are asked or
# honoured (no Allow-Credentials, and the answer is the same with or without a cookie).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Max-Age": "86400",
}


@csrf_exempt  # OPTIONS only; nothing is written
@compressed
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def status_summary(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    else:
        response = JsonResponse(machine.summary(), json_dumps_params={"separators": (",", ":")})
        response["Cache-Control"] = f"public, max-age={PAGE_CACHE_SECONDS}"
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


@require_safe
def component_badge(request: HttpRequest, pk: int) -> HttpResponse:
    badge = machine.badge(pk)
    if badge is None:
        raise Http404("No such component.")
    response = HttpResponse(machine.badge_svg(badge), content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={machine.BADGE_CACHE_SECONDS}"
    # An image on other people's pages: nothing in it may run, whatever a name says.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# --- Components: their status, for editors --------------------------------------------------


@require_GET
@login_required
def component_list(request: HttpRequest) -> HttpResponse:
    components = list(
        Component.objects.select_related("group", "status_changed_by").order_by(
            "group__order", "order", "pk"
        )
    )
    proposals = services.component_status_proposals(component_ids=[c.pk for c in components])
    rows = [(c, proposals.get(c.pk)) for c in components]
    return render(
        request,
        "incidents/component_list.html",
        {
            "rows": rows,
            "statuses": ComponentStatus.choices,
            # Empty ones too: a group is made before its components are put in it.
            "groups": ComponentGroup.objects.order_by("order", "name"),
        },
    )


@require_POST
@editor_required
def component_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Set a status (an override) or accept the checks' proposal, over the status the editor saw."""
    component = get_object_or_404(Component, pk=pk)
    expected = request.POST.get("expected", "")
    try:
        if "accept" in request.POST:
            services.component_proposal_accept(
                component=component,
                proposed=request.POST.get("accept", ""),
                expected=expected,
                user=request.user,
            )
        else:
            services.component_set_status(
                component=component,
                status=request.POST.get("status", ""),
                expected=expected,
                user=request.user,
            )
    except (services.ComponentStatusConflict, ValidationError) as error:
        messages.error(request, str(error.messages[0] if hasattr(error, "messages") else error))
    else:
        messages.success(request, f"{component.name}: {component.get_status_display()}.")
    return redirect("incidents:component_list")


# --- Components and groups: creating, editing, deleting (editors) ----------------------------

COMPONENT_FORM_TEMPLATE = "incidents/component_form.html"


def _errors_beside_fields(form: forms.ModelForm, error: ValidationError) -> None:
    by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, field_errors in by_field.items():
        form.add_error(name if name in form.fields else None, field_errors)


def _component_save(form: ComponentForm) -> Component | None:
    fields = dict(form.cleaned_data)
    checks = fields.pop("health_checks")
    existing = form.instance if form.instance.pk is not None else None
    try:
        return services.component_save(component=existing, health_checks=checks, **fields)
    except ValidationError as error:
        _errors_beside_fields(form, error)
    return None


def _group_save(form: ComponentGroupForm) -> ComponentGroup | None:
    existing = form.instance if form.instance.pk is not None else None
    try:
        return services.component_group_save(group=existing, **form.cleaned_data)
    except ValidationError as error:
        _errors_beside_fields(form, error)
    return None


def _component_form_page(
    request: HttpRequest, form: ComponentForm | ComponentGroupForm, *, kind: str
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        saved = _component_save(form) if isinstance(form, ComponentForm) else _group_save(form)
        if saved is not None:
            messages.success(request, f"Saved: {saved.name}")
            return redirect("incidents:component_list")
    status = 422 if form.errors else 200
    return render(request, COMPONENT_FORM_TEMPLATE, {"form": form, "kind": kind}, status=status)


def _bound(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else form_kept(request)


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_create(request: HttpRequest) -> HttpResponse:
    return _component_form_page(request, ComponentForm(_bound(request)), kind="component")


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_edit(request: HttpRequest, pk: int) -> HttpResponse:
    component = get_object_or_404(Component, pk=pk)
    form = ComponentForm(_bound(request), instance=component)
    return _component_form_page(request, form, kind="component")


@require_http_methods(["GET", "POST"])
@editor_required
def component_delete(request: HttpRequest, pk: int) -> HttpResponse:
    component = get_object_or_404(Component, pk=pk)
    if request.method == "POST":
        services.component_delete(component=component)
        messages.success(request, f"Deleted: {component.name}")
        return redirect("incidents:component_list")
    return render(
        request, "incidents/component_delete.html", {"row": component, "kind": "component"}
    )


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_group_create(request: HttpRequest) -> HttpResponse:
    return _component_form_page(request, ComponentGroupForm(_bound(request)), kind="group")


@require_http_methods(["GET", "POST"])
@editor_required
@keeps_typed_text
def component_group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ComponentGroup, pk=pk)
    form = ComponentGroupForm(_bound(request), instance=group)
    return _component_form_page(request, form, kind="group")


@require_http_methods(["GET", "POST"])
@editor_required
def component_group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ComponentGroup, pk=pk)
    if request.method == "POST":
        services.component_group_delete(group=group)
        messages.success(request, f"Deleted: {group.name}")
        return redirect("incidents:component_list")
    return render(request, "incidents/component_delete.html", {"row": group, "kind": "group"})
