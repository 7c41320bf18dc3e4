"""Writes of what every app shares: a person's own preferences."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import Profile


@transaction.atomic
def profile_update(*, user: User, time_zone: str, reminder_emails: bool | None = None) -> Profile:
    """Save a person's zone and, when given, whether they get reminder emails."""
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationError({"time_zone": f"{time_zone!r} is not a time zone this server knows."})
    defaults: dict[str, object] = {"time_zone": time_zone}
    if reminder_emails is not None:
        defaults["reminder_emails"] = reminder_emails
    profile, _ = Profile.objects.update_or_create(user=user, defaults=defaults)
    return profile
