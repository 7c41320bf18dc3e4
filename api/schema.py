"""What the OpenAPI schema says about every operation: how to authenticate, and the problem
answers any of them can give."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_lib_doc_excludes

from api.idempotency import HEADER, KEY_RE
from api.reads import RowSerializer
from api.scopes import DESCRIPTIONS, allowed_scopes
from api.serializers import StrictSerializer

if TYPE_CHECKING:
    from django.http import HttpRequest
    from drf_spectacular.generators import SchemaGenerator

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem. `type` is stable: switch on it, not on `title`.",
    "properties": {
        "type": {"type": "string", "example": "urn:hindsight:problem:validation-error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {
            "type": "string",
            "description": "This occurrence: urn:hindsight:request: and the request's id, the "
            "same as the answer's X-Request-Id header and in the server's log lines.",
            "example": "urn:hindsight:request:0b6f7a52-3c1e-4f7a-9d1b-2f6c8e4a9b10",
        },
        "errors": {
            "type": "object",
            "description": "For validation errors: the messages per field.",
            "additionalProperties": True,
        },
    },
    "required": ["type", "title", "status", "detail", "instance"],
    "additionalProperties": True,
}

# Answers any operation may give, whatever it does.
COMMON = {
    "400": "Invalid input: see `errors`.",
    "401": "No or bad credentials.",
    "403": "Your role or your token's scope does not allow this.",
    "404": "No such object (or page).",
    "405": "Method not allowed.",
    "406": "Cannot answer in an acceptable format.",
    "429": "Too many requests: retry after `Retry-After` seconds. Every answer carries "
    "`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10).",
}
WITH_BODY = {"415": "The body must be JSON (application/json)."}
# Every POST takes an Idempotency-Key (api.idempotency), so every POST documents it.
IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": KEY_RE.pattern},
    "description": "Makes the POST safe to retry: a retry with the same key and the same body "
    "(JSON compared as its value, so key order and white space do not matter) replays the first "
    "answer and does nothing again (Idempotent-Replayed: true). The same key with another body "
    "or URL is 422, and while the first request still runs 409. An answer that refused the "
    "request (4xx or 5xx) is not kept, so a corrected retry may reuse the key. Keys are kept for "
    "48 hours, per token (or per signed-in user).",
}
# Every successful GET answers an ETag and If-None-Match (api.conditional); an operation that
# documents If-None-Match itself says what it does there instead.
IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag of the answer you hold (or several, comma-separated): 304 with no "
    "body when it is still current. Compared weakly, so W/ forms match too.",
}
ETAG_HEADER: dict[str, Any] = {
    "schema": {"type": "string"},
    "description": "A strong ETag of this answer; send it back in If-None-Match.",
}
NOT_MODIFIED = {
    "description": "Not modified: the ETag in If-None-Match is current. No body; the ETag, "
    "Vary and Cache-Control headers as a 200 would have them."
}
IDEMPOTENCY_ANSWERS = {
    "409": "The first request with this Idempotency-Key is still running; retry later.",
    "422": "This Idempotency-Key was already used with a different request.",
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "BearerToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (hst_...), from /settings/tokens/, a service "
            "account's page or `manage.py create_api_token`. It acts with its owner's role, "
            "narrowed by its scope; each operation lists the scopes it takes in "
            "`x-token-scopes`. "
            + " ".join(f"`{scope}`: {text}" for scope, text in DESCRIPTIONS.items()),
        }


class ScopedAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the token scopes each operation takes (api.scopes)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        scopes = list(allowed_scopes(self.view, self.method))
        operation["x-token-scopes"] = scopes
        line = "Token scopes: " + ", ".join(f"`{s}`" for s in scopes) + "."
        description = operation.get("description", "")
        operation["description"] = f"{description}\n\n{line}" if description else line
        return operation


def add_problem_responses(
    result: dict[str, Any],
    generator: SchemaGenerator,
    request: HttpRequest | None,
    public: bool,
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document the problem answers on every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", PROBLEM_SCHEMA)
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            codes = dict(COMMON)
            if "requestBody" in operation:
                codes |= WITH_BODY
            if method == "get":
                _document_conditional_get(operation)
            if method == "post":
                codes |= IDEMPOTENCY_ANSWERS
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
                    parameters.append(IDEMPOTENCY_PARAMETER)
            for code, description in codes.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": reference}},
                    },
                )
    return result


def _document_conditional_get(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    if any(p.get("name") == "If-None-Match" and p.get("in") == "header" for p in parameters):
        return
    parameters.append(IF_NONE_MATCH_PARAMETER)
    responses = operation.setdefault("responses", {})
    responses.setdefault("304", NOT_MODIFIED)
    ok = responses.get("200")
    if ok is not None:
        ok.setdefault("headers", {}).setdefault("ETag", ETAG_HEADER)


def doc_excludes() -> list[type]:
    """Base classes whose docstrings must not describe the schema's components.

    drf-spectacular describes a component by the first docstring up its class's MRO; without
    these, every read or request shape without a docstring of its own would be documented as the
    machinery it is built on.
    """
    return [*get_lib_doc_excludes(), RowSerializer, StrictSerializer]
