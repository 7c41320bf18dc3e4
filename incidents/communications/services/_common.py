"""What the workflow's topics share: the statuses by name, and who acted."""

from __future__ import annotations

from django.contrib.auth.models import User

from incidents.models import Communication

Status = Communication.Status


def _who(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None
