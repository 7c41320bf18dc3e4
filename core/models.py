"""What a person chooses for themselves, whatever their role."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db import models

DEFAULT_TIME_ZONE = "UTC"


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    # The zone every time on a page is shown in; forms read times in it too. Messages to users
    # and the public status page keep the organisation's zone (settings.TIME_ZONE).
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE)
    # The morning digest of their own action items, and for admins the weekly summary
    # (incidents.insights.reminders). On unless turned off: a reminder nobody asked for is
    # cheaper than an item forgotten.
    reminder_emails = models.BooleanField(
        "email me reminders",
        default=True,
        db_default=True,
        help_text="A morning email of your overdue and soon-due action items (admins: and the "
        "weekly summary).",
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"


class Leased(models.Model):
    """The claim a worker holds on a delivery while it sends it, and when the next try is due:
    the columns the one delivery engine (core/delivery.py) reads and writes."""

    # Which worker holds the claim ("host:pid:nonce"); empty when nobody does.
    claimed_by = models.CharField(max_length=100, blank=True, editable=False)
    # The claim is void after this; the sweep then hands the delivery to another worker.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # After a transient failure: when the retry is due. Null: due since it was created.
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
