"""The demo's public side: what the status page said during the MoodMash outage, and one
maintenance window coming up.

Idempotent like the rest of the demo: updates are found by (incident, audience, subject) and the
window by its title. The window is the only demo row tied to today's date: a reload moves it to
the next Saturday once it has ended, so the demo always has one to show, and never adds a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from core.rendering import render
from deployments.models import Service
from incidents.demo import content
from incidents.demo.content import at
from incidents.models import Audience, Communication, Incident, Maintenance, Phase

# (published at, phase, subject, body): what users read while it happened, in plain words.
UPDATES = (
    (at(6, 5), Phase.INVESTIGATING, "moodmash.win is not loading",
     "Every page of moodmash.win is showing an error instead of the app. We're looking into "
     "it now and will post again within 15 minutes."),
    (at(6, 11), Phase.IDENTIFIED, "Cause found: restoring the previous version",
     "This morning's update to the site was incomplete. We're putting back the version from "
     "before it, which worked. Your data is safe: nothing was lost or changed."),
    (at(6, 20), Phase.RESOLVED, "moodmash.win is back to normal",
     "The previous version went live at 06:17 UTC, and since 06:18 every page loads again. "
     "The site was unavailable for about **16 minutes**.\n\n"
     "We're sorry for the interruption. We'll make sure an incomplete update can't reach the "
     "site again, and we'll publish what we learned here."),
)  # fmt: skip

MAINTENANCE_TITLE = "Database upgrade"
MAINTENANCE_DESCRIPTION = (
    "We're moving MoodMash's database to a newer version. The app stays up, but **saving a "
    "mood may pause for up to a minute** while the switch happens. Nothing needs doing on "
    "your side."
)
MAINTENANCE_LENGTH = timedelta(minutes=30)


def _updates(incident: Incident, author: User) -> None:
    existing = set(
        Communication.objects.filter(incident=incident, audience=Audience.STATUS_PAGE).values_list(
            "subject", flat=True
        )
    )
    for published_at, phase, subject, body in UPDATES:
        if subject in existing:
            continue
        update = Communication(
            incident=incident,
            audience=Audience.STATUS_PAGE,
            phase=phase,
            status=Communication.Status.SENT,
            subject=subject,
            body=body,
            created_by=author,
            approved_by=author,
            approved_at=published_at,
            sent_at=published_at,
        )
        update.render_markdown()
        update.save()


def next_window(now: datetime) -> datetime:
    """Next Saturday at 05:00 UTC, at least two days away: upcoming, not in progress."""
    day = (now + timedelta(days=2)).astimezone(UTC).date()
    day += timedelta(days=(5 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)


def _maintenance(service: Service) -> None:
    now = timezone.now()
    window = Maintenance.objects.filter(service=service, title=MAINTENANCE_TITLE).first()
    if window is not None and window.ends_at > now:
        return
    starts_at = next_window(now)
    if window is None:
        window = Maintenance(service=service, title=MAINTENANCE_TITLE)
    window.description = MAINTENANCE_DESCRIPTION
    window.description_html = render(MAINTENANCE_DESCRIPTION)
    window.starts_at, window.ends_at = starts_at, starts_at + MAINTENANCE_LENGTH
    window.save()


def _public(incident: Incident, author: User) -> None:
    # Public since its first update went out, as publishing it through the app would have made
    # it (incidents.statuspage.services.incident_publish_with_update).
    Incident.objects.filter(pk=incident.pk, public_since__isnull=True).update(
        public_since=UPDATES[0][0], public_by=author
    )


def status_page_load(*, incident: Incident, users: Mapping[str, User]) -> None:
    _updates(incident, users[content.EDITOR])
    _public(incident, users[content.EDITOR])
    _maintenance(incident.service)
