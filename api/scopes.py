"""Which token scopes may call which API route.

Every route answers tokens of the scopes it lists: by default `read` and `write` for a read
(GET, HEAD, OPTIONS) and `write` alone for anything else. A view widens that per action (or per
method, for a plain APIView) with `token_scopes`, e.g. `{"create": ("deployments",)}`, so a CI
job's narrow token reaches exactly the routes it needs and nothing more. The check runs in the
authentication (api.authentication), which every API route passes, whatever its permission
classes; tests/api/test_token_scopes.py walks every route, so a new one cannot go unlisted.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS

from api.models import ApiToken

Scope = ApiToken.Scope

READ_DEFAULT: tuple[str, ...] = (Scope.READ, Scope.WRITE)
WRITE_DEFAULT: tuple[str, ...] = (Scope.WRITE,)

# What each scope is for, in the words the tokens page, the README and the OpenAPI document use.
DESCRIPTIONS: dict[str, str] = {
    Scope.READ: "Reads every route the token's role may read; asks the gate.",
    Scope.WRITE: "Everything the token's role may do, reads and writes; makes tokens.",
    Scope.GATE: "Asks the gate (POST /api/v1/gate) and nothing else.",
    Scope.DEPLOYMENTS: "What a deploy pipeline does: asks the gate; records, finds and finishes "
    "deployments and verifies them; records changes; opens and ends maintenance windows.",
}


def allowed_scopes(view: Any, method: str) -> tuple[str, ...]:
    """The scopes whose tokens may call `view` with `method`, in the order of Scope."""
    method = method.upper()
    base = READ_DEFAULT if method in SAFE_METHODS else WRITE_DEFAULT
    action = getattr(view, "action", None) or method.lower()
    extra = getattr(view, "token_scopes", {}).get(action, ())
    wanted = set(base) | set(extra)
    return tuple(s for s in Scope.values if s in wanted)


def scope_refusal(token: ApiToken, view: Any, method: str) -> str | None:
    """Why this token may not call the route, or None when it may."""
    allowed = allowed_scopes(view, method)
    if token.scope in allowed:
        return None
    return (
        f"This token has the {token.scope} scope; this route needs a token with one of: "
        f"{', '.join(allowed)}."
    )
