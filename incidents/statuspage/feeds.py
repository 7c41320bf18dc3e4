"""Atom and RSS feeds of the status page: each public incident, and each of its published updates.

They read exactly what the page reads (incidents.statuspage.page.public_incidents), so nothing that
is not public reaches them. They also say which updates were withdrawn, even once the last one's
withdrawal took its incident off the page: a feed reader keeps what it read. Descriptions are the
HTML stored at save time, already sanitized by core.rendering; the feed generator escapes it once
more into the XML.

Entries link to their incident's own public page (absolute, on HINDSIGHT_BASE_URL); their ids
(guids) stay what they were when entries linked to the status page, so readers do not see old
entries again as new ones. A published public post-mortem is an entry of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape

from incidents.statuspage.page import HISTORY_DAYS, PublicIncident, incident_url, public_incidents
from incidents.statuspage.selectors import withdrawn_update_rows

MAX_ITEMS = 50
# What XML 1.0 cannot hold at all, escaped or not. Django's feed writer raises on it, so one
# control character pasted into an update would take both feeds down for every reader.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class FeedEntry:
    title: str
    html: str
    link: str
    guid: str
    published: datetime
    updated: datetime


def _page_url() -> str:
    return settings.HINDSIGHT_BASE_URL + reverse("incidents:status_page")


def _incident_link(incident: PublicIncident) -> str:
    return settings.HINDSIGHT_BASE_URL + incident_url(incident.number)


def _incident_html(incident: PublicIncident) -> str:
    parts = []
    if incident.status_line:
        parts.append(f"<p>{escape(incident.status_line)}</p>")
    parts.append(incident.impact_html)
    if incident.summary_html:
        parts.append(incident.summary_html)
    return "\n".join(part for part in parts if part)


WITHDRAWN_HTML = (
    "<p>This update was withdrawn: what it said was not right. The updates on the status page "
    "are what stands.</p>"
)


def _withdrawn(*, title: str, link: str, guid: str, at: datetime) -> FeedEntry:
    return FeedEntry(
        title=f"Withdrawn: {title}",
        html=WITHDRAWN_HTML,
        link=link,
        guid=guid,
        published=at,
        updated=at,
    )


def feed_entries() -> list[FeedEntry]:
    """Newest first, at most MAX_ITEMS. Readers poll: the feeds are kept built like the page
    (incidents.statuspage.views.embeds)."""
    page = _page_url()
    now = timezone.now()
    entries = [
        # Withdrawn with the incident's last update, which took the incident off the page:
        # readers still learn that what they read was withdrawn, and nothing more.
        _withdrawn(
            title=row["subject"],
            link=page,
            guid=f"{page}#update-{row['id']}-withdrawn",
            at=row["retracted_at"],
        )
        for row in withdrawn_update_rows(since=now - timedelta(days=HISTORY_DAYS), limit=MAX_ITEMS)
    ]
    # Each incident gives at least one entry: MAX_ITEMS incidents fill the feed.
    for incident in public_incidents(now=now, past_limit=MAX_ITEMS):
        anchor = _incident_link(incident)
        updated = max(
            [incident.started_at, incident.resolved_at or incident.started_at]
            + [update.at for update in incident.updates]
        )
        entries.append(
            FeedEntry(
                title=f"{incident.status_label}: {incident.heading}",
                html=_incident_html(incident),
                link=anchor,
                guid=f"{page}#incident-{incident.number}",
                published=incident.started_at,
                updated=updated,
            )
        )
        for update in incident.withdrawn:
            assert update.retracted_at is not None
            entries.append(
                _withdrawn(
                    title=update.subject,
                    link=f"{anchor}#update-{update.id}",
                    guid=f"{page}#update-{update.id}-withdrawn",
                    at=update.retracted_at,
                )
            )
        for update in incident.updates:
            entries.append(
                FeedEntry(
                    title=f"{update.phase_label}: {update.subject}",
                    html=update.body_html,
                    link=f"{anchor}#update-{update.id}",
                    guid=f"{page}#update-{update.id}",
                    published=update.at,
                    updated=update.at,
                )
            )
        for withdrawn in incident.withdrawn_postmortems:
            assert withdrawn.retracted_at is not None
            entries.append(
                _withdrawn(
                    title=f"Post-mortem: {withdrawn.subject}",
                    link=f"{anchor}#postmortem-{withdrawn.id}",
                    guid=f"{page}#postmortem-{withdrawn.id}-withdrawn",
                    at=withdrawn.retracted_at,
                )
            )
        if incident.postmortem is not None:
            postmortem = incident.postmortem
            entries.append(
                FeedEntry(
                    title=f"Post-mortem: {postmortem.subject}",
                    html=postmortem.body_html,
                    link=f"{anchor}#postmortem",
                    guid=f"{page}#postmortem-{postmortem.id}",
                    published=postmortem.at,
                    updated=postmortem.at,
                )
            )
    entries.sort(key=lambda entry: entry.published, reverse=True)
    return entries[:MAX_ITEMS]


class StatusRssFeed(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    title = "Status updates"
    description = "Incidents and their published status updates."

    def link(self) -> str:
        return _page_url()

    def feed_url(self) -> str:
        return settings.HINDSIGHT_BASE_URL + reverse("incidents:status_feed_rss")

    def items(self) -> list[FeedEntry]:
        return feed_entries()

    def item_title(self, item: FeedEntry) -> str:
        # Escaped like Django's default: some RSS readers take a title as HTML.
        return escape(_xml_text(item.title))

    def item_description(self, item: FeedEntry) -> str:
        return _xml_text(item.html)

    def item_link(self, item: FeedEntry) -> str:
        return item.link

    def item_guid(self, item: FeedEntry) -> str:
        return item.guid

    item_guid_is_permalink = False

    def item_pubdate(self, item: FeedEntry) -> datetime:
        return item.published

    def item_updateddate(self, item: FeedEntry) -> datetime:
        return item.updated


class StatusAtomFeed(StatusRssFeed):
    feed_type = Atom1Feed
    subtitle = StatusRssFeed.description

    def feed_url(self) -> str:
        return settings.HINDSIGHT_BASE_URL + reverse("incidents:status_feed_atom")
