"""Every route that writes, as a table: walked with Redis down (writes.WALKED), or not and why.

NOT_WALKED names every other write route with the walked one that takes the same way to Redis
(the rate limit's counter, the outbox's publish after commit, the cache), so a new write route
fails `test_every_write_route_is_in_the_table` until someone decides which it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from tests.reliability.writes import WALKED

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _like(walked: str, *routes: str) -> dict[str, str]:
    assert any(f"{w.method} {w.route}" == walked for w in WALKED), walked
    return dict.fromkeys(routes, f"reaches Redis as {walked} does")


def _api_rows(*kinds: str) -> list[str]:
    return [
        f"{method} incident-{kind}-detail"
        for kind in kinds
        for method in ("PUT", "PATCH", "DELETE")
    ] + [f"POST incident-{kind}-move" for kind in kinds if kind != "timeline-event"]


# Write routes not walked, each with the walked one that takes its way to Redis (the API's rate
# limit counter, the outbox after commit, the cache), or why it takes none.
NOT_WALKED: dict[str, str] = {
    # The API's rows and incident transitions: a row service, the live mark and its search refresh.
    **_like(
        "PATCH incident-timeline-event-detail",
        *_api_rows("timeline-event", "cause", "lesson", "action-item", "success-criterion"),
        "POST incident-lesson-list",
        "POST incident-success-criterion-list",
        "POST incident-timeline-event-hide",
        "POST incident-timeline-event-show",
        "PUT incident-detail",
        "DELETE incident-detail",
        "POST incident-duplicate-of",
        "POST incident-draft",
        "POST incident-draft-keep",
        "POST incident-draft-discard",
        "POST incident-unpublish",
        "POST incident-import",
        "POST incident-attachments",
    ),
    **_like(
        "POST incident-communication-send",
        "POST incident-communication-generate",
        "PATCH incident-communication-detail",
        "DELETE incident-communication-detail",
        "POST incident-communication-approve",
        "POST incident-communication-correct",
        "POST incident-communication-retract",
        "POST communication-template-list",
        "PATCH communication-template-detail",
    ),
    **_like(
        "POST action-item-complete",
        "POST action-item-reopen",
        "POST action-item-start",
        "POST action-item-wont-do",
    ),
    **_like(
        "POST webhook-ping",
        "POST webhook-list",
        "PATCH webhook-detail",
        "DELETE webhook-detail",
        "POST webhook-secret",
        "POST webhook-redeliver",
    ),
    # The system side's configuration: a row written, the rate limit counted.
    **_like(
        "POST deployment-list",
        "POST deployment-set-status",
        "POST service-list",
        "PUT service-detail",
        "PATCH service-detail",
        "POST environment-list",
        "PUT environment-detail",
        "PATCH environment-detail",
        "POST health-check-list",
        "PUT health-check-detail",
        "PATCH health-check-detail",
        "DELETE health-check-detail",
        "POST health-check-run",
        "POST gate-rule-list",
        "PUT gate-rule-detail",
        "PATCH gate-rule-detail",
        "DELETE gate-rule-detail",
        "POST change-list",
        "POST maintenance-window-list",
        "POST maintenance-window-end",
        "POST token-list",
        "DELETE token-detail",
    ),
    # The incident page's forms: a service, the live mark and its search refresh.
    **_like(
        "POST incidents:row_new",
        "POST incidents:row_edit",
        "POST incidents:row_delete",
        "POST incidents:row_move",
        "POST incidents:timeline_hide",
        "POST incidents:criterion_toggle",
        "POST incidents:action_item_status",
        "POST incidents:details_edit",
        "POST incidents:tags_edit",
        "POST incidents:section_text",
        "POST incidents:document_edit",
        "POST incidents:document_paste",
        "POST incidents:set_status",
        "POST incidents:set_postmortem_state",
        "POST incidents:mark_duplicate",
        "POST incidents:unmark_duplicate",
        "POST incidents:mark_as_cause",
        "POST incidents:draft_propose",
        "POST incidents:draft_keep",
        "POST incidents:draft_discard",
        "POST incidents:incident_publish",
        "POST incidents:incident_unpublish",
        "POST incidents:attachment_upload",
        "POST incidents:import",
        "POST incidents:import_confirm",
    ),
    **_like(
        "POST incidents:communication_send",
        "POST incidents:communication_generate",
        "POST incidents:communication_edit",
        "POST incidents:communication_approve",
        "POST incidents:communication_correct",
        "POST incidents:communication_discard",
        "POST incidents:communication_retract",
        "POST incidents:communication_template_new",
        "POST incidents:communication_template_edit",
    ),
    **_like(
        "POST incidents:action_item_done",
        "POST incidents:action_item_undone",
        "POST incidents:action_item_start",
        "POST incidents:action_item_wont_do",
        "POST incidents:action_item_assign",
    ),
    **_like(
        "POST incidents:webhook_ping",
        "POST incidents:webhook_create",
        "POST incidents:webhook_edit",
        "POST incidents:webhook_rotate",
        "POST incidents:webhook_redeliver",
        "POST incidents:webhook_delete",
    ),
    **_like(
        "POST incidents:status_subscribe",
        "POST incidents:status_confirm",
        "POST incidents:status_unsubscribe",
        "POST incidents:status_subscription",
    ),
    # Settings pages: rows written, nothing queued.
    **_like(
        "POST incidents:declare",
        "POST incidents:component_create",
        "POST incidents:component_edit",
        "POST incidents:component_delete",
        "POST incidents:component_status",
        "POST incidents:component_group_create",
        "POST incidents:component_group_edit",
        "POST incidents:component_group_delete",
        "POST incidents:maintenance_create",
        "POST incidents:maintenance_edit",
        "POST incidents:maintenance_delete",
        "POST deployments:gate_rule_add",
        "POST deployments:gate_rule_edit",
        "POST deployments:gate_rule_toggle",
        "POST deployments:gate_rule_delete",
        "POST deployments:health_check_run",
        "POST preferences",
        "POST tokens",
        "POST token_revoke",
        "POST service_accounts",
        "POST service_account_tokens",
    ),
    # Sessions and the login throttle (django-axes) are in the database; the preview writes nothing.
    **dict.fromkeys(
        ["POST login", "PUT login", "POST logout", "POST incidents:preview"],
        "no Redis: sessions and login attempts are database rows; the preview only renders",
    ),
}


def _methods(callback: Callable) -> set[str]:
    """The methods a route answers: a viewset's mapping, an APIView's handlers, or what
    require_http_methods (require_POST, ...) lets through, read from its closure."""
    cls = getattr(callback, "cls", None)
    if cls is not None:
        actions = getattr(callback, "actions", None)
        names = actions or [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
        return {name.upper() for name in names}
    view_class = getattr(callback, "view_class", None)  # Django's class-based views
    if view_class is not None:
        names = ["get", "post", "put", "patch", "delete"]
        return {name.upper() for name in names if hasattr(view_class, name)}
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
