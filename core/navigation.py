"""The main navigation of every page: what it links to, and which pages light each link up.

One list for the whole site, so a new page joins the navigation here and not in a template.
The entries name URL patterns; a link is current when the page's own pattern is one of
`current_on`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    current_on: tuple[str, ...] = ()
    staff_only: bool = False


NAVIGATION = (
    NavItem("Dashboard", "incidents:dashboard", ("incidents:dashboard",)),
    NavItem("Incidents", "incidents:list", ("incidents:list", "incidents:detail")),
    NavItem("Action items", "incidents:action_items", ("incidents:action_items",)),
    NavItem("Metrics", "incidents:metrics", ("incidents:metrics",)),
    NavItem("Health", "deployments:health_checks", ("deployments:health_checks",)),
    NavItem("System", "deployments:services", ("deployments:services", "deployments:environment")),
    NavItem("Maintenance", "incidents:maintenance_list", ("incidents:maintenance_list",)),
    NavItem("Components", "incidents:component_list", ("incidents:component_list",)),
    NavItem("Status page", "incidents:status_page"),
    NavItem("API tokens", "tokens", ("tokens",)),
    NavItem(
        "Webhooks",
        "incidents:webhook_list",
        (
            "incidents:webhook_list",
            "incidents:webhook_create",
            "incidents:webhook_detail",
            "incidents:webhook_edit",
            "incidents:webhook_delete",
        ),
        # The page asks for the admin role's permission; staff is how the link knows an admin
        # without a permission query on every page.
        staff_only=True,
    ),
    NavItem("Admin", "admin:index", staff_only=True),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def navigation_links(request: HttpRequest) -> list[NavLink]:
    """The links `request.user` sees, with the current page marked. Signed-out visitors see none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    match = getattr(request, "resolver_match", None)
    here = match.view_name if match is not None else ""
    return [
        NavLink(item.label, reverse(item.url_name), here in item.current_on)
        for item in NAVIGATION
        if user.is_staff or not item.staff_only
    ]
