"""Every route that writes, as a table: walked with Redis down (WALKED), or not and why
(NOT_WALKED), so a new write route fails `test_every_write_route_is_in_the_table` until someone
gives it a request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from tests.reliability.writes import Write
from tests.reliability.writes_api import API_WRITES
from tests.reliability.writes_pages import PAGE_WRITES
from tests.reliability.writes_system import SYSTEM_WRITES

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Every write route, each with a request the Redis-down tests send.
WALKED: list[Write] = [*API_WRITES, *PAGE_WRITES, *SYSTEM_WRITES]

# Write routes that are not walked, each with the reason why: none. (The sign-in page took PUT
# as Django's form views do, and showed the form again; it now answers 405.)
NOT_WALKED: dict[str, str] = {}


def _methods(callback: Callable) -> set[str]:
    """The methods a route answers: a viewset's mapping, an APIView's handlers, a class-based
    view's handlers that its http_method_names allow, or what require_http_methods
    (require_POST, ...) lets through, read from its closure."""
    cls = getattr(callback, "cls", None)
    if cls is not None:
        actions = getattr(callback, "actions", None)
        names = actions or [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
        return {name.upper() for name in names}
    view_class = getattr(callback, "view_class", None)  # Django's class-based views
    if view_class is not None:
        names = ["get", "post", "put", "patch", "delete"]
        allowed = view_class.http_method_names
        return {name.upper() for name in names if hasattr(view_class, name) and name in allowed}
    func: Any = callback
    while func is not None:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = func.__closure__[code.co_freevars.index("request_method_list")]
            return {method.upper() for method in cell.cell_contents}
        func = getattr(func, "__wrapped__", None)
    return {"GET", "POST", "PUT", "PATCH", "DELETE"}  # a view that says nothing takes anything


def write_routes() -> set[str]:
    """`METHOD route-name` of every write route outside the admin."""

    def walk(patterns: list, namespace: str) -> Any:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                for method in _methods(pattern.callback) & WRITE_METHODS:
                    yield f"{method} {namespace}{pattern.name}"

    return set(walk(get_resolver().url_patterns, ""))
