from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import models


def history_record(*, obj: models.Model, user: AbstractBaseUser | None) -> None:
    """Record the current state of a row written with .update(), which history signals miss.

    `obj` must already hold the new values (refresh_from_db after the update).
    """
    type(obj).history.bulk_history_create(
        [obj], update=True, default_user=user if user and user.is_authenticated else None
    )
