"""The demo's communications side: the shipped templates, and two confirmed subscribers so that
sending the demo incident's user email has someone to reach (example.com never receives mail).

Idempotent like the rest of the demo: templates are matched by slug and never overwritten,
subscribers by address.
"""

from __future__ import annotations

from datetime import UTC, datetime

from incidents.communications.defaults import default_templates_ensure
from incidents.models import Subscriber

DEMO_SUBSCRIBERS = ("alex@example.com", "sam@example.com")
# They confirmed their addresses the week before the outage.
CONFIRMED_AT = datetime(2025, 12, 26, 9, 30, tzinfo=UTC)


def communications_load() -> None:
    default_templates_ensure()
    for email in DEMO_SUBSCRIBERS:
        Subscriber.objects.get_or_create(email=email, defaults={"confirmed_at": CONFIRMED_AT})
