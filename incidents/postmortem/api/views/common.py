"""What every incidents viewset shares: ETag and If-Match, lookups, schema pieces."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
)
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from api.conditional import DIGEST_HEX
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_RE as IDEMPOTENCY_KEY_RE
from api.pagination import TimeCursorPagination
from api.permissions import RolePermission
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from incidents.models import (
    Incident,
)
from incidents.models.incident import IncidentQuerySet
from incidents.postmortem import selectors
from incidents.postmortem.api import serializers as s

# How many of the latest timeline events the incident's detail embeds.
TIMELINE_EMBEDDED = 100
# A row's ETag, its version: "3".
IF_MATCH_RE = re.compile(r'^"([0-9]+)"$')
# The incident's ETag as the detail answers it, "7.<digest>" (api.conditional.versioned_etag),
# or its version alone, as clients sent it before the digest was added and as a 412 answers it.
# Only the version is compared: a row written by someone else since changes the digest, and
# must not make a PATCH of the summary stale.
INCIDENT_IF_MATCH_RE = re.compile(rf'^"([0-9]+)(?:\.[0-9a-f]{{{DIGEST_HEX}}})?"$')
# What if_match_version() answers for a well-formed ETag that no version can equal.
NO_VERSION = s.MAX_ID + 1


# --- Permissions -------------------------------------------------------------------------------


class ChangeOnPost(RolePermission):
    """For transitions (resolve, complete, ...): a POST that changes a row, not one that adds a
    row, so it needs the model's change permission."""

    perms_map = {**RolePermission.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


# --- Schema helpers ----------------------------------------------------------------------------

_PROBLEMS = {
    400: "Invalid input; `errors` maps each field to its messages.",
    401: "No credentials, or a token that is unknown, expired or revoked.",
    403: "The role may not do this, or a read-scope token tried to write.",
    404: "No such incident or row.",
    409: "The first request with this Idempotency-Key is still running; retry later.",
    412: "If-Match is stale: the incident changed; `current_version` is its version now.",
    415: "The body is not application/json.",
    422: "This Idempotency-Key was already used with a different request.",
    428: "If-Match is missing; send the ETag of the incident you read.",
}


# The component api.schema adds to the schema; every error is one.
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems(*codes: int, **descriptions: str) -> dict:
    """Problem answers particular to an operation (api.schema adds the ones common to all),
    described for it: problems(400, 412, d400="Why.")."""
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            PROBLEM_REF, description=descriptions.get(f"d{code}", _PROBLEMS[code])
        )
        for code in codes
    }


READ_PROBLEMS = (401, 403, 404)
LIST_PROBLEMS = (400, 401, 403, 404)  # 400: a bad filter; 404: a page or cursor past the end
WRITE_PROBLEMS = (400, 401, 403, 404, 415)
IDEMPOTENCY_PROBLEMS = (409, 422)

REF = OpenApiParameter(
    "ref",
    str,
    OpenApiParameter.PATH,
    description="The incident's reference: INC-12, inc-12 or just 12.",
)
INCIDENT_REF = OpenApiParameter(
    "incident_ref",
    str,
    OpenApiParameter.PATH,
    description="The incident's reference: INC-12, inc-12 or just 12.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 412],
    required=True,
    description=(
        "A strong ETag: the incident's version, a dot and a digest of this answer, e.g. "
        '"7.3f9a0c2b1d4e5f60". The digest changes whenever anything in the answer does (its '
        "rows too, which leave the version alone): send the ETag in If-None-Match for a 304 "
        "while nothing changed, and in If-Match to write, where only the version counts. A 412 "
        'answers the current version alone, e.g. "8", which If-Match takes too.'
    ),
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=INCIDENT_IF_MATCH_RE.pattern,
    description=(
        'The ETag of the incident as you last read it, e.g. "7.3f9a0c2b1d4e5f60", or its '
        'version alone, e.g. "7". Only the version is compared, so a row someone changed since '
        "does not make your write stale. Missing: 428. Neither form (`*` and weak tags are "
        "refused): 400. Stale: 412."
    ),
)
ROW_ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 412],
    required=True,
    description=(
        'The row\'s version as a strong ETag, e.g. "3"; the same number as its `version`. '
        "Every write bumps it, ticks and moves too."
    ),
)
ROW_IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=IF_MATCH_RE.pattern,
    description=(
        'The ETag of the row as you last read it, e.g. "3". Missing: 428. Not one quoted '
        "version (`*` and weak tags are refused): 400. Stale (someone changed the row since, "
        "or ticked or moved it): 412 with `current_version`; read it again and reapply."
    ),
)
ROW_STALE = (
    "If-Match is stale: the row changed since you read it; `current_version` is its version "
    "now, also in the ETag header."
)
ROW_NO_IF_MATCH = "If-Match is missing; send the ETag of the row you read."
ROW_BAD_IF_MATCH = "Invalid fields, or a malformed If-Match."
LOCATION = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[201],
    required=True,
    description="The URL of what was created.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    pattern=IDEMPOTENCY_KEY_RE.pattern,
    description=(
        "Makes the POST safe to retry: a retry with the same key and body (a JSON body "
        "compared as its value) replays the first answer and creates nothing "
        "(Idempotent-Replayed: true); the same key with another body is 422, and while the "
        "first is still running 409. A refused request (4xx) is not kept, so its corrected "
        "retry may reuse the key. Keys are kept for 48 hours, per token (or per logged-in user)."
    ),
)


# --- Shared plumbing ---------------------------------------------------------------------------


def acting(view: GenericViewSet) -> str | None:
    """The viewset's action; for OPTIONS, the one the method it describes would run, so the
    metadata shows what a POST or PUT accepts."""
    if view.action == "metadata":
        assert view.request.method is not None  # a request always has one
        return view.action_map.get(view.request.method.lower(), view.action)
    return view.action


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(request: Request, what: str = "incident") -> int:
    """The version the client read of the incident (or of a row: `what`), from If-Match; 428
    or 400 problems otherwise."""
    header = request.headers.get("If-Match")
    pattern = INCIDENT_IF_MATCH_RE if what == "incident" else IF_MATCH_RE
    if header is None:
        raise Problem(
            f'Send If-Match with the ETag of the {what} you read, e.g. If-Match: "7".',
            status_code=428,
            problem_type="precondition-required",
        )
    # Not stripped: the schema's pattern is the whole value, and servers trim the field already.
    match = pattern.match(header)
    if match is not None:
        digits = match.group(1)
        # Strong comparison is by characters: "07" or a 30-digit tag is no version we sent.
        if len(digits) > 10 or digits != str(int(digits)):
            return NO_VERSION
        return int(digits)
    if header == "*":
        detail = 'If-Match: * is not supported; send the ETag you read, e.g. "7".'
    elif header.startswith("W/"):
        detail = 'Weak ETags never match for a write; send the strong ETag, e.g. "7".'
    elif what == "incident":
        detail = (
            'If-Match must be the ETag as it was sent, e.g. "7.3f9a0c2b1d4e5f60", or the quoted '
            'version alone, e.g. "7".'
        )
    else:
        detail = 'If-Match must be one quoted version, as the ETag was sent, e.g. "7".'
    raise Problem(detail, status_code=400, problem_type="malformed-if-match")


def incident_or_404(reference: str, queryset: IncidentQuerySet | None = None) -> Incident:
    try:
        return (queryset if queryset is not None else Incident.objects.all()).by_reference(
            reference
        )
    except Incident.DoesNotExist:
        raise NotFound("No incident has this reference.") from None


def id_or_404(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 1 <= value <= s.MAX_ID:  # larger than any id the database can hold
        raise NotFound()
    return value


def incident_detail(reference: str) -> Incident:
    """One incident with every section and its latest timeline events, in a fixed number of
    queries however long they are."""
    try:
        return selectors.incident_document(reference, timeline_limit=TIMELINE_EMBEDDED)
    except Incident.DoesNotExist:
        raise NotFound("No incident has this reference.") from None


class TimelineCursorPagination(TimeCursorPagination):
    """An incident's timeline in time order, oldest first."""

    ordering = ("occurred_at", "id")
