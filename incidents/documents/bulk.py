"""Writing the new rows of one import with the framework's public tools: Model.clean_fields()
checks each row, QuerySet.bulk_create() writes a model's rows, and django-simple-history's
bulk_create_with_history() writes their "created" history records beside them.

One call costs two statements (the rows, then their history) on PostgreSQL however many rows it
writes. On SQLite, Django 5.2 starts a new statement every 999 values (the variable limit it
assumes there), so a call of hundreds of rows takes a few more: a cost per batch, not per row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeVar

from django.contrib.auth.models import User
from django.db import models
from simple_history.utils import bulk_create_with_history

M = TypeVar("M", bound=models.Model)


def rows_create(
    model: type[M],
    rows: Sequence[M],
    *,
    user: User | None,
    exclude: Collection[str] = (),
) -> list[M]:
    """Check and write new `rows` of `model` and a "created" history record for each.

    Every row passes clean_fields(exclude) first, so a ValidationError leaves nothing written by
    this call. The history records carry `user`, or when it is None the user simple-history
    finds for itself (the request's, through its middleware). Returns the rows, with their
    primary keys.
    """
    rows = list(rows)
    for row in rows:
        row.clean_fields(exclude=exclude)
    return bulk_create_with_history(rows, model, default_user=user)
