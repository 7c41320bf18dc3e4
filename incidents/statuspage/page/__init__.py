"""The public status page: what it shows, built from six queries, and nothing internal.

1. Components (incidents.models.Component): by group, with their status and the checks they
   watch; their status history over the days shown (the worst status of each day marks its
   bar); and the enabled production health checks with their newest result. A check that no
   component watches is still shown on its own under its service, as before components.
2. Uptime: results per (check, day) over 90 days from the hourly roll-ups and the raw results not
   yet rolled up, in one UNION ALL. Past days do not change, so they are cached for an hour and a
   warm build reads only today.
3. Maintenance: windows that have not ended.
4. Incidents: the public ones (made public by a published update or by an editor) that are
   open, the PAST_SHOWN latest resolved in the last 90 days, or the latest resolved, each joined
   to its published status-page updates and public post-mortem (a LEFT JOIN on a
   FilteredRelation). An internal incident is never read here, so it shows nowhere on the page:
   not in the lists, not in the overall status. Past incidents are shown in brief, each linking
   to its own public page; older ones are on the history pages. So the page stays the same size
   however long the history grows.

Each public incident has a page of its own (public_incident_page: one query), with its updates,
those withdrawn marked so, and its published public post-mortem; the history pages list every
public incident (public_history_page: two queries).

The queries are in incidents.statuspage.selectors; this package shapes their rows for the page and
the feeds, and holds their cache: Django's cache framework, one entry per rendered page and feed
list, dropped by status_page_invalidate() after every write they show. An entry is fresh for
PAGE_CACHE_SECONDS and kept longer: when it goes stale, one process (the one that takes the
rebuild lock) builds it again while every other serves the previous bytes (see cached()).

One module per topic:
- shapes.py: the data shapes the templates and feeds are handed, and how far back the page looks;
- caching.py: the cache keys, invalidation, cached() with its rebuild lock, and going on without
  the cache when Redis is down (the cache object, its logger and its rate-limited log live there,
  so that is where a test replaces them);
- uptime.py: the uptime bars, past days cached;
- public.py: public incidents, one incident's page, the history pages, the team's preview;
- build.py: the page itself and its overall status.
"""

from __future__ import annotations

from incidents.statuspage.page.build import status_page_build
from incidents.statuspage.page.caching import (
    FEED_CACHE_KEY,
    INCIDENT_CACHE_KEY,
    PAGE_CACHE_KEY,
    PAGE_CACHE_SECONDS,
    REBUILD_LOCK_SECONDS,
    STALE_KEEP_SECONDS,
    SUMMARY_CACHE_KEY,
    cache_failed,
    cached,
    new_cache_log,
    status_page_invalidate,
)
from incidents.statuspage.page.public import (
    public_history_page,
    public_incident,
    public_incidents,
    public_preview,
)
from incidents.statuspage.page.shapes import (
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
from incidents.statuspage.page.uptime import PAST_UPTIME_CACHE_SECONDS

__all__ = [
    "FEED_CACHE_KEY",
    "HISTORY_DAYS",
    "HISTORY_PER_PAGE",
    "INCIDENT_CACHE_KEY",
    "PAGE_CACHE_KEY",
    "PAGE_CACHE_SECONDS",
    "PAST_SHOWN",
    "PAST_UPTIME_CACHE_SECONDS",
    "REBUILD_LOCK_SECONDS",
    "STALE_KEEP_SECONDS",
    "SUMMARY_CACHE_KEY",
    "Component",
    "HistoryEntry",
    "MaintenanceWindow",
    "PublicIncident",
    "PublicPostmortem",
    "PublicUpdate",
    "StatusComponent",
    "StatusGroup",
    "StatusPage",
    "UptimeDay",
    "cache_failed",
    "cached",
    "incident_url",
    "new_cache_log",
    "public_history_page",
    "public_incident",
    "public_incidents",
    "public_preview",
    "status_components",
    "status_page_build",
    "status_page_invalidate",
]
