"""Bulk writes for histories of thousands of rows in tests (PostgreSQL): COPY, then what
autovacuum and the commit would have done."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.db.models import Max
from django.utils import timezone


def next_id(model: type[models.Model]) -> int:
    return (model._default_manager.aggregate(top=Max("id"))["top"] or 0) + 1


def copy_rows(model: type[models.Model], rows: Iterable[dict[str, Any]]) -> list[int]:
    """Write `rows` (dicts by attname) into the model's table with one COPY, the fastest bulk
    write PostgreSQL has: a field a row leaves out gets the model's default, as the ORM gives
    it, and the rows their ids in order from the first free one. Returns the ids."""
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {
        f.attname: now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in fields
    }
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(["id", *(quote(str(f.column)) for f in fields)])
    ids: list[int] = []
    pk = next_id(model)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values: list[Any] = [pk]
                for f in fields:
                    value = row.get(f.attname, defaults[f.attname])
                    values.append(json.dumps(value) if f.attname in json_fields else value)
                copy.write_row(values)
                ids.append(pk)
                pk += 1
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), {max(pk - 1, 1)})",
            [model._meta.db_table],
        )
    return ids


def settle(*written: type[models.Model]) -> None:
    """Fresh statistics of the tables written, as autovacuum would have gathered by the time
    anyone reads (without them the planner takes the tables for empty and picks plans for a
    few rows); and the deferred foreign keys checked once, now. They are checked at commit,
    which never comes in a test: unchecked, every test's end (Django checks deferred constraints
    there) would check them all again."""
    with connection.cursor() as cursor:
        for model in written:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
