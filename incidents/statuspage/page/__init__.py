"""The public status page: what it shows, built from six queries, and nothing internal.

1. Components (incidents.models.Component): by group, with their status and the checks they
   watch; their status history over the days shown (the worst status of each day marks its
   bar); and the enabled production health checks with their newest result. A check that no
   component watches is still shown on its own under its service, as before components.
2. Uptime: results per (check, day) over 90 days from the hourly roll-ups and the raw results not
   yet rolled up, in one UNION ALL. Read whole at each rebuild: only one process rebuilds at a
   time, every FRESH_SECONDS at most.
3. Maintenance: windows that have not ended.
4. Incidents: the public ones (made public by a published update or by an editor) that are
   open (at most ACTIVE_SHOWN listed, the others counted), the PAST_SHOWN latest resolved in the
   last 90 days, or the latest resolved, each joined to its published status-page updates and
   public post-mortem (a LEFT JOIN on a FilteredRelation). An internal incident is never read
   here, so it shows nowhere on the page: not in the lists, not in the overall status. Past
   incidents are shown in brief, each linking to its own public page; older ones are on the
   history pages. So the page stays the same size however long the history grows.

Each public incident has a page of its own (public_incident_page: one query), with its updates,
those withdrawn marked so, and its published public post-mortem; the history pages list every
public incident (public_history_page: two queries).

The queries are in incidents.statuspage.selectors; this package shapes their rows for the page and
the feeds, and keeps the public documents built (documents.py): the bytes every visitor gets, one
database row per document, marked stale by the writes that change them, in their transaction,
and rebuilt by one process at a time while the others serve the previous bytes.

One module per topic:
- shapes.py: the data shapes the templates and feeds are handed, and how far back the page looks;
- documents.py: the kept documents, their keys, ETags and gzip, public_document() with its
  rebuild claim, and public_documents_mark_stale();
- uptime.py: the uptime bars;
- public.py: public incidents, one incident's page, the history pages, the team's preview;
- build.py: the page itself and its overall status.
"""

from __future__ import annotations

from incidents.statuspage.page.build import status_page_build
from incidents.statuspage.page.documents import (
    BADGE_KEY,
    CLAIM_SECONDS,
    FEED_KEY,
    FRESH_SECONDS,
    PAGE_KEY,
    SUMMARY_KEY,
    Built,
    Served,
    incident_key,
    kept_document,
    public_document,
    public_documents_mark_stale,
)
from incidents.statuspage.page.public import (
    public_history_page,
    public_incident,
    public_incidents,
    public_preview,
)
from incidents.statuspage.page.shapes import (
    ACTIVE_SHOWN,
    HISTORY_DAYS,
    HISTORY_PER_PAGE,
    PAST_SHOWN,
    Component,
    HistoryEntry,
    MaintenanceWindow,
    PublicIncident,
    PublicPostmortem,
    PublicUpdate,
    StatusComponent,
    StatusGroup,
    StatusPage,
    UptimeDay,
    incident_url,
    status_components,
)

__all__ = [
    "ACTIVE_SHOWN",
    "BADGE_KEY",
    "CLAIM_SECONDS",
    "FEED_KEY",
    "FRESH_SECONDS",
    "HISTORY_DAYS",
    "HISTORY_PER_PAGE",
    "PAGE_KEY",
    "PAST_SHOWN",
    "SUMMARY_KEY",
    "Built",
    "Component",
    "HistoryEntry",
    "MaintenanceWindow",
    "PublicIncident",
    "PublicPostmortem",
    "PublicUpdate",
    "Served",
    "StatusComponent",
    "StatusGroup",
    "StatusPage",
    "UptimeDay",
    "incident_key",
    "incident_url",
    "kept_document",
    "public_document",
    "public_documents_mark_stale",
    "public_history_page",
    "public_incident",
    "public_incidents",
    "public_preview",
    "status_components",
    "status_page_build",
]
