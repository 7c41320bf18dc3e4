"""The public status page, its feeds, and the subscriber pages: the only pages without a login.
Behind the login: the maintenance pages, the components pages (their status, and creating and
editing them and their groups), and the switch on an incident's page that puts it on the
status page or takes it off.

One module per topic:
- public.py: the status page, each public incident's page and the history pages, answered from
  the kept documents with their ETag and gzip (and `compressed`, for answers built per request);
- embeds.py: the feeds, the JSON summary and the components' badges, for machines and other sites;
- subscribers.py: signing up (rate-limited, with or without Redis), confirming, unsubscribing,
  choosing components;
- maintenance.py: the maintenance windows' pages;
- components.py: the components' status, and editing components and their groups;
- visibility.py: whether an incident is on the status page.
"""

from __future__ import annotations

from incidents.statuspage.views._common import TEMPLATE_DIR
from incidents.statuspage.views.components import (
    COMPONENT_FORM_TEMPLATE,
    component_create,
    component_delete,
    component_edit,
    component_group_create,
    component_group_delete,
    component_group_edit,
    component_list,
    component_status,
)
from incidents.statuspage.views.embeds import (
    CORS_HEADERS,
    component_badge,
    status_feed_atom,
    status_feed_rss,
    status_summary,
)
from incidents.statuspage.views.maintenance import (
    FORM_TEMPLATE,
    PAST_SHOWN,
    maintenance_create,
    maintenance_delete,
    maintenance_edit,
    maintenance_list,
)
from incidents.statuspage.views.public import (
    GZIP_MIN_BYTES,
    accepts_gzip,
    answer_document,
    compressed,
    document_response,
    status_history,
    status_incident,
    status_page,
)
from incidents.statuspage.views.subscribers import (
    SIGNUP_LIMIT,
    SIGNUP_WINDOW_SECONDS,
    confirm,
    subscribe,
    subscribe_sent,
    subscription,
    unsubscribe,
)
from incidents.statuspage.views.visibility import incident_publish, incident_unpublish

__all__ = [
    "COMPONENT_FORM_TEMPLATE",
    "CORS_HEADERS",
    "FORM_TEMPLATE",
    "GZIP_MIN_BYTES",
    "PAST_SHOWN",
    "SIGNUP_LIMIT",
    "SIGNUP_WINDOW_SECONDS",
    "TEMPLATE_DIR",
    "accepts_gzip",
    "answer_document",
    "component_badge",
    "component_create",
    "component_delete",
    "component_edit",
    "component_group_create",
    "component_group_delete",
    "component_group_edit",
    "component_list",
    "component_status",
    "compressed",
    "confirm",
    "document_response",
    "incident_publish",
    "incident_unpublish",
    "maintenance_create",
    "maintenance_delete",
    "maintenance_edit",
    "maintenance_list",
    "status_feed_atom",
    "status_feed_rss",
    "status_history",
    "status_incident",
    "status_page",
    "status_summary",
    "subscribe",
    "subscribe_sent",
    "subscription",
    "unsubscribe",
]
