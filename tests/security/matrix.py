"""Walking every route of the URL configuration and asking it as each kind of caller.

routes() yields every URL pattern, the admin site's included, with its route text, its name
(namespaced) and the methods to try; outcome() sorts an answer into the classes the table in
test_authorization.py uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponseBase
from django.urls import URLPattern, URLResolver, get_resolver

OK, LOGIN, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, NOT_ALLOWED, THROTTLED = (
    "ok",
    "login",
    "401",
    "403",
    "404",
    "405",
    "429",
)
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PAGE_METHODS = ("GET", "POST")


@dataclass(frozen=True)
class Route:
    route: str  # the pattern as written, parameters as {name}
    name: str  # "namespace:name", or the route for an unnamed pattern
    names: tuple[str, ...]  # the parameters it takes
    methods: tuple[str, ...]
    api: bool
    view: Callable[..., Any]


def _readable(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return route.replace("^", "").replace("$", "").replace("\\", "")


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern


def _api_methods(view: Any) -> tuple[str, ...]:
    actions = getattr(view, "actions", None)
    if actions is not None:
        return tuple(m.upper() for m in actions if m.upper() in API_METHODS)
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    return tuple(m for m in API_METHODS if hasattr(view_class, m.lower()))


def routes() -> list[Route]:
    found = []
    for text, namespace, pattern in _walk(get_resolver().url_patterns, "", ""):
        route = _readable(text)
        api = route.startswith("api/v1/")
        name = f"{namespace}:{pattern.name}".lstrip(":") if pattern.name else route
        methods = _api_methods(pattern.callback) if api else PAGE_METHODS
        found.append(
            Route(
                route=route,
                name=name,
                names=tuple(pattern.pattern.regex.groupindex),
                methods=methods or ("GET",),
                api=api,
                view=pattern.callback,
            )
        )
    return found


def outcome(response: HttpResponseBase) -> str:
    status = response.status_code
    if status in (301, 302, 303) and re.match(r"^(/admin)?/login/", response["Location"]):
        return LOGIN
    classes = {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 405: NOT_ALLOWED}
    return classes.get(status, THROTTLED if status == 429 else OK)
