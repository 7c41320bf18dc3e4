"""Idempotency-Key on POST: a retry replays the first answer byte for byte and creates nothing.

Views opt in with `idempotent_post = True` (DRF views) . The record is inserted and committed
before the view runs, so of many concurrent requests with one key exactly one runs the view:
the others find the record and get 409 while it runs, the stored answer after it finished, and
422 when their body differs from the first one's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from api.models import IdempotencyRecord
from api.problems import problem_response
from api.tokens import token_hash

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,255}$")
# Response headers worth replaying; the rest (Date, Vary, cookies) belong to each answer.
REPLAYED_HEADERS = ("Location", "ETag")
RETENTION = timedelta(hours=48)


def _opted_in(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    view_class = getattr(match.func, "cls", None)
    return bool(getattr(view_class, "idempotent_post", False))


def _owner(request: HttpRequest) -> str | None:
    """Keys are scoped per client: the token (by its hash) or the logged-in user."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return "token:" + token_hash(header[7:].strip())[:32]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None  # unauthenticated: DRF will answer 401 and there is nothing to replay


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not _opted_in(request):
            return self.get_response(request)
        if not KEY_RE.match(key):
            return problem_response(
                request,
                status_code=400,
                problem_type="malformed-idempotency-key",
                detail="Idempotency-Key must be 1 to 255 letters, digits or _ . : -",
            )
        owner = _owner(request)
        if owner is None:
            return self.get_response(request)
        try:
            digest = hashlib.sha256(request.body).hexdigest()
        except RequestDataTooBig:
            return problem_response(
                request,
                status_code=413,
                problem_type="body-too-large",
                detail="The request body is larger than this server accepts.",
            )
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=digest,
                )
        except IntegrityError:
            return self._answer_retry(request, owner, key, digest)

        response = self.get_response(request)
        if response.status_code >= 500 or getattr(response, "streaming", False):
            # Nothing was promised: let the client try again with the same key.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            headers={h: response[h] for h in REPLAYED_HEADERS if h in response},
            body=bytes(response.content),
        )
        return response

    def _answer_retry(
        self, request: HttpRequest, owner: str, key: str, digest: str
    ) -> HttpResponse:
        record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if record is None:  # purged between the insert and this read: very old key
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
        response = HttpResponse(
            bytes(record.body), status=record.status_code, content_type=record.content_type
        )
        for name, value in record.headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Forget records older than the retention; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
