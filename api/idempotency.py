"""Idempotency-Key on every API POST: a retry replays the first answer and creates nothing.

Every POST under /api/ whose view is a DRF view takes the header (a view could refuse it with
`idempotent_post = False`; none does, and tests/api/test_idempotency.py walks the URLs so that a
new create cannot miss it). The record is inserted and committed before the view runs, so of
many concurrent requests with one key exactly one runs the view: the others find the record and
get 409 while it runs, the stored answer after it finished, and 422 when their body differs from
the first one's.

Bodies are compared as what they mean: JSON as its value (key order and white space do not
matter), multipart by its fields and files (a client's retry picks a new boundary), anything else
byte for byte. Only an answer that did what was asked (1xx-3xx) is kept: after a 4xx or 5xx the
record is deleted, so a corrected retry with the same key goes through. The stored answer is
encrypted with a key derived from the client's own credential, because one of them holds a new
token's secret, which Hindsight otherwise never stores.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework.views import APIView

from api.models import IdempotencyRecord
from api.problems import problem_response
from api.tokens import token_hash

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,255}$")
# Response headers worth replaying; the rest (Date, Vary, cookies) belong to each answer.
REPLAYED_HEADERS = ("Location", "ETag")
RETENTION = timedelta(hours=48)
# A multipart body is parsed (files spooled to disk) before the view can refuse its size, so a
# keyed one is refused here above the largest body any view accepts: an attachment and its form.
MULTIPART_ENVELOPE = 64 * 1024
NONCE_BYTES = 12


def idempotent_view(callback: Callable[..., Any]) -> bool:
    """Whether POSTs to this URL pattern's view take an Idempotency-Key: every DRF view does."""
    view_class = getattr(callback, "cls", None)
    return (
        isinstance(view_class, type)
        and issubclass(view_class, APIView)
        and bool(getattr(view_class, "idempotent_post", True))
    )


def _view_class(request: HttpRequest) -> type[APIView] | None:
    """The DRF view a POST to the API goes to, when it takes an Idempotency-Key."""
    if request.method != "POST" or not request.path_info.startswith("/api/"):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.func.cls if idempotent_view(match.func) else None  # type: ignore[attr-defined]  # checked by idempotent_view


def _credential(request: HttpRequest) -> tuple[str, str] | None:
    """(owner, secret): keys are scoped per client, the token (by its hash) or the signed-in
    user; the secret (the raw token or the session key) is what the stored answer is sealed
    with, and it is never stored."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        raw = header[7:].strip()
        return "token:" + token_hash(raw)[:32], raw
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is not None and user.is_authenticated and session is not None:
        return f"user:{user.pk}", session.session_key or ""
    return None  # unauthenticated: DRF will answer 401 and there is nothing to replay


def _seal_key(secret: str, owner: str, key: str) -> bytes:
    message = "\0".join(("idempotency", owner, key, secret)).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def _seal(body: bytes, seal_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(seal_key).encrypt(nonce, body, None)


def _unseal(sealed: bytes, seal_key: bytes) -> bytes | None:
    try:
        return AESGCM(seal_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
    except (InvalidTag, ValueError):
        return None


def canonical_json(value: Any) -> bytes:
    """One spelling per JSON value: sorted keys, no white space."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _multipart_digest(request: HttpRequest) -> str:
    """Fields and files, each file by name, type and content, in a fixed order."""
    digest = hashlib.sha256(b"multipart\0")
    for name in sorted(request.POST):
        for value in request.POST.getlist(name):
            digest.update(canonical_json(["field", name, value]))
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            content = hashlib.sha256()
            for chunk in upload.chunks():
                content.update(chunk)
            upload.seek(0)
            digest.update(
                canonical_json(
                    ["file", name, upload.name, upload.content_type, content.hexdigest()]
                )
            )
    return digest.hexdigest()


def _parses_multipart(view_class: type[APIView]) -> bool:
    return any(p.media_type == "multipart/form-data" for p in view_class.parser_classes)


def body_digest(request: HttpRequest, view_class: type[APIView]) -> str:
    """What makes two requests the same request, as a hash (raises RequestDataTooBig)."""
    content_type = request.content_type or ""
    # Parsed here only for a view that parses it too (DRF then takes the parsed form); for any
    # other view the bytes, and the view answers 415.
    if content_type == "multipart/form-data" and _parses_multipart(view_class):
        return _multipart_digest(request)
    body = request.body
    if content_type == "application/json" or content_type.endswith("+json"):
        # Not JSON after all: the view answers 400, and the bytes are what it was.
        with contextlib.suppress(ValueError, RecursionError):
            body = canonical_json(json.loads(body))
    return hashlib.sha256(body).hexdigest()


def _too_large(request: HttpRequest) -> HttpResponse:
    return problem_response(
        request,
        status_code=413,
        problem_type="body-too-large",
        detail="The request body is larger than this server accepts.",
    )


def _multipart_too_large(request: HttpRequest) -> bool:
    if request.content_type != "multipart/form-data":
        return False
    length = request.META.get("CONTENT_LENGTH") or "0"
    ceiling = settings.HINDSIGHT_ATTACHMENT_MAX_MB * 1024 * 1024 + MULTIPART_ENVELOPE
    return length.isdigit() and int(length) > ceiling


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        view_class = _view_class(request) if key is not None else None
        if key is None or view_class is None:
            return self.get_response(request)
        if not KEY_RE.match(key):
            return problem_response(
                request,
                status_code=400,
                problem_type="malformed-idempotency-key",
                detail="Idempotency-Key must be 1 to 255 letters, digits or _ . : -",
            )
        credential = _credential(request)
        if credential is None:
            return self.get_response(request)
        owner, secret = credential
        if _multipart_too_large(request):
            return _too_large(request)
        try:
            digest = body_digest(request, view_class)
        except RequestDataTooBig:
            return _too_large(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner,
                    key=key,
                    method="POST",
                    path=request.path[:500],
                    request_hash=digest,
                )
        except IntegrityError:
            return self._answer_retry(request, owner, key, digest, _seal_key(secret, owner, key))

        response = self.get_response(request)
        if response.status_code >= 400 or getattr(response, "streaming", False):
            # Nothing was done (4xx) or nothing was promised (5xx): a retry with the same key,
            # corrected or not, runs again.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            headers={h: response[h] for h in REPLAYED_HEADERS if h in response},
            body=_seal(bytes(response.content), _seal_key(secret, owner, key)),
        )
        return response

    def _answer_retry(
        self, request: HttpRequest, owner: str, key: str, digest: str, seal_key: bytes
    ) -> HttpResponse:
        record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if record is None:  # deleted between the insert and this read: refused, or very old
            return problem_response(
                request, status_code=409, problem_type="idempotency-key-in-use", detail="Retry."
            )
        if record.request_hash != digest or record.path != request.path[:500]:
            return problem_response(
                request,
                status_code=422,
                problem_type="idempotency-key-reused",
                detail="This Idempotency-Key was used with a different request.",
            )
        if record.state == IdempotencyRecord.State.RUNNING:
            return problem_response(
                request,
                status_code=409,
                problem_type="idempotency-key-in-use",
                detail="The first request with this Idempotency-Key is still running.",
            )
        body = _unseal(bytes(record.body), seal_key)
        if body is None:
            # The same user from another session: the answer is sealed with the first one's.
            return problem_response(
                request,
                status_code=422,
                problem_type="idempotency-key-reused",
                detail="This Idempotency-Key was used from another session; use a new key.",
            )
        response = HttpResponse(body, status=record.status_code, content_type=record.content_type)
        for name, value in record.headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Forget records older than the retention; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
