"""What the OpenAPI schema says about every operation: how to authenticate, and the problem
answers any of them can give."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_lib_doc_excludes

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
        "instance": {"type": "string"},
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
            for code, description in codes.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": reference}},
                    },
                )
    return result


def doc_excludes() -> list[type]:
    """Base classes whose docstrings must not describe the schema's components.

    drf-spectacular describes a component by the first docstring up its class's MRO; without
    these, every read or request shape without a docstring of its own would be documented as the
    machinery it is built on.
    """
    return [*get_lib_doc_excludes(), RowSerializer, StrictSerializer]
