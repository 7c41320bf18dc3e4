"""Reads of what every app shares: the people an owner field suggests as someone types."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from core.models import Profile

# Enough to pick from while typing; a longer prefix narrows it, so no page ever lists everyone.
PEOPLE_SUGGESTED = 10


def people_active() -> QuerySet[User]:
    """The people an item can be given to: active users. Inactive owners stay on their items."""
    return get_user_model().objects.filter(is_active=True)


def people_matching(prefix: str, *, limit: int = PEOPLE_SUGGESTED) -> list[User]:
    """Active users whose username, first name or last name starts with `prefix` (any case),
    by username; at most `limit`, in one query. An empty prefix matches nobody."""
    prefix = prefix.strip()
    if not prefix:
        return []
    user_model = get_user_model()
    username = user_model.USERNAME_FIELD
    return list(
        people_active()
        .filter(
            Q(**{f"{username}__istartswith": prefix})
            | Q(first_name__istartswith=prefix)
            | Q(last_name__istartswith=prefix)
        )
        .only(username, "first_name", "last_name")
        .order_by(username)[:limit]
    )


def reminder_emails_on(user: User) -> bool:
    """Whether the person gets reminder emails: yes until they turn them off."""
    found = Profile.objects.filter(user=user).values_list("reminder_emails", flat=True).first()
    return True if found is None else found
