"""Writing the thousands of new rows of one import: the same checks, rows and history as
Model.clean_fields(), QuerySet.bulk_create() and django-simple-history's
bulk_create_with_history(), at a fraction of their cost per row.

Those generic paths spend most of a large import on bookkeeping: compiling every value of every
row through the SQL compiler, and building a second model instance per row for its history.
Here a value is prepared by its field once, a statement's SQL is built once per batch size, and
the history rows are copied by the database (INSERT ... SELECT) instead of built in Python.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import NotSupportedError, connections, models, router
from django.db.models import Field, Value
from django.db.models.expressions import DatabaseDefault
from django.db.models.functions import Cast

# Fields whose get_db_prep_save() gives a str back as it is, on every backend.
_TEXT_FIELDS = (models.CharField, models.TextField)
# Immutable values whose prepared form depends on the value (and its type) alone, so a field
# prepares each distinct one once per insert.
_SCALARS = frozenset({type(None), bool, int, float, str, date, datetime, Decimal})


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration, back on after if it was on.

    An import keeps tens of thousands of objects alive until it ends (the draft, a section's
    rows), so the collector's full passes, each a walk over every object of the process, free
    next to nothing and cost about a fifth of a 10,000-line import. Reference counting frees
    everything else as usual. The switch is process-wide: another thread collects no cycles
    either for that second or so.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fields_validate(rows: Sequence[models.Model], *, exclude: Collection[str] = ()) -> None:
    """Model.clean_fields(exclude) for every row, one field at a time.

    The same rules (to_python, choices, null and blank, the field's validators), the same
    cleaned values set on the rows, and the same error: a ValidationError with every field error
    of the first row that has any. Each distinct value is checked once per field: a field's
    checks are a function of the value alone, so a value it accepted once it accepts again.
    """
    if not rows:
        return
    failures: dict[int, dict[str, list[ValidationError]]] = {}
    for f in rows[0]._meta.fields:
        if f.name in exclude or f.generated:
            continue
        attname = f.attname
        accepted: dict[tuple[type, Any], Any] = {}
        for index, row in enumerate(rows):
            raw = getattr(row, attname)
            if (f.blank and raw in f.empty_values) or isinstance(raw, DatabaseDefault):
                continue
            # Keyed by type too: 1, 1.0 and True are equal but not the same value to a field.
            key = (raw.__class__, raw)
            try:
                cleaned = accepted[key]
            except KeyError:
                try:
                    cleaned = f.clean(raw, row)
                except ValidationError as error:
                    failures.setdefault(index, {})[f.name] = error.error_list
                    continue
                accepted[key] = cleaned
            except TypeError:  # an unhashable value: checked every time
                try:
                    cleaned = f.clean(raw, row)
                except ValidationError as error:
                    failures.setdefault(index, {})[f.name] = error.error_list
                    continue
            if cleaned is not raw:
                setattr(row, attname, cleaned)
    if failures:
        raise ValidationError(failures[min(failures)])


def rows_insert(rows: Sequence[models.Model]) -> None:
    """INSERT new rows of one model, as many per statement as the database takes, and set their
    primary keys from RETURNING (SQLite 3.35+ and PostgreSQL), in the order of `rows`.

    What bulk_create() does before it writes is done too: fields' pre_save (auto_now_add, with
    one time for a statement's rows), and related objects must be saved. Values only: no
    expressions, no database defaults (none of the imported models has one). No signals.
    """
    if not rows:
        return
    model = type(rows[0])
    meta = model._meta
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError("Importing needs INSERT ... RETURNING (SQLite 3.35 or later).")
    if any(type(row) is not model or row.pk is not None for row in rows):
        raise ValueError(f"rows_insert() takes new {meta.label} rows only.")
    fields = [f for f in meta.concrete_fields if not f.generated and not f.db_returning]
    # Per field: its attname, whether pre_save() only reads the attribute, whether a str goes
    # to the database as it is, and the values prepared so far.
    plans = [
        (f, f.attname, type(f).pre_save is Field.pre_save, type(f) in _TEXT_FIELDS, {})
        for f in fields
    ]
    returning = meta.db_returning_fields
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) ".format(
        quote(meta.db_table), ", ".join(quote(f.column) for f in fields)
    )
    tail = " " + connection.ops.return_insert_columns(returning)[0]
    unnest = _unnest(connection, fields)
    batch = len(rows) if unnest else _batch_size(connection, fields)
    statements: dict[int, str] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            for row in chunk:
                if row._state.fields_cache:  # rows given ids rather than objects skip this
                    row._prepare_related_fields_for_save(operation_name="bulk_create")
            # Column by column: a field's choices are made once per column, not once a value.
            columns = [_column(plan, chunk, connection) for plan in plans]
            if unnest:
                sql = head + connection.ops.bulk_insert_sql(fields, unnest) + tail
                params = columns
            else:
                sql = statements.get(len(chunk))
                if sql is None:
                    per_row = ["%s"] * len(fields)
                    values = connection.ops.bulk_insert_sql(fields, [per_row] * len(chunk))
                    sql = statements[len(chunk)] = head + values + tail
                params = [value for values in zip(*columns, strict=True) for value in values]
            cursor.execute(sql, params)
            returned = connection.ops.fetch_returned_insert_rows(cursor)
            for row, values_back in zip(chunk, returned, strict=True):
                for f, value in zip(returning, values_back, strict=True):
                    setattr(row, f.attname, value)
                row._state.adding = False
                row._state.db = alias


def _unnest(connection: Any, fields: list[Field]) -> list[str] | None:
    """PostgreSQL: INSERT ... SELECT * FROM UNNEST(%s::type[], ...), one parameter a column, as
    Django's bulk_create() writes there; None where the database or a field cannot."""
    if connection.vendor != "postgresql":
        return None
    from django.db.backends.postgresql.compiler import InsertUnnest

    # Django's own conditions: a field with placeholders of its own or a type outside the
    # backend's table cannot be an array of plain values.
    if any(hasattr(f, "get_placeholder") for f in fields) or any(
        (f.target_field if f.is_relation else f).get_internal_type() not in connection.data_types
        for f in fields
    ):
        return None
    # varchar[] rather than varchar(50)[]: an array cast must not cut a value short.
    return InsertUnnest([f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields])


def _column(plan: tuple, rows: Sequence[models.Model], connection: Any) -> list[Any]:
    """One field's values of `rows`, as get_db_prep_save(pre_save(row, add=True)) gives them."""
    f, attname, plain, text, prepared = plan
    if plain:
        values = [getattr(row, attname) for row in rows]
    elif _stamped(f):
        # One statement, one moment: the rows share the creation time, as rows a database
        # stamps with now() in one statement do, and it is prepared once instead of per row.
        stamp = f.pre_save(rows[0], True)
        for row in rows[1:]:
            setattr(row, attname, stamp)
        values = [stamp] * len(rows)
    else:
        values = [f.pre_save(row, True) for row in rows]
    if text and all(value.__class__ is str for value in values):
        return values
    column = []
    for value in values:
        kind = value.__class__
        if kind is str and text:
            column.append(value)
        elif kind in _SCALARS:
            key = (kind, value)
            if key not in prepared:
                prepared[key] = f.get_db_prep_save(value, connection)
            column.append(prepared[key])
        else:
            column.append(_prepare(f, value, connection))
    return column


def _stamped(f: Field) -> bool:
    """Whether pre_save() sets the field to the time of the write (auto_now, auto_now_add)."""
    return type(f).pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save) and (
        f.auto_now or f.auto_now_add
    )


def _batch_size(connection: Any, fields: list[Field]) -> int:
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old limit of 999 variables a statement; SQLite 3.32 and later
        # take 32,766 by default, and the library says what this build takes.
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    else:
        # PostgreSQL's protocol numbers bind parameters in 16 bits (with server-side binding).
        limit = connection.features.max_query_params or 65535
    return max(1, limit // len(fields))


def _prepare(f: Field, value: Any, connection: Any) -> Any:
    if hasattr(value, "resolve_expression"):
        raise TypeError(f"{f.model._meta.label}.{f.name}: an expression is not a value.")
    return f.get_db_prep_save(value, connection)


def history_insert(
    source: models.QuerySet, *, count: int, user_id: int | None, date: datetime
) -> None:
    """One "created" history record for each of the `count` rows of `source`, copied by the
    database in one INSERT ... SELECT instead of built as a model instance per row.

    What bulk_create_with_history() writes for new rows: every tracked field as stored,
    history_type "+", no change reason, the user and date given. Raises RuntimeError (so the
    import's transaction rolls back) unless exactly `count` records were written.
    """
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    model = source.model
    history = model.history.model
    tracked = {f.attname for f in history.tracked_fields}
    constants = {
        "history_date": date,
        "history_change_reason": None,
        "history_type": "+",
        "history_user_id": user_id,
    }
    columns, names, annotations = [], [], {}
    for f in history._meta.concrete_fields:
        if f.primary_key and f.attname not in tracked:
            continue  # history_id: the database numbers the records
        columns.append(f.column)
        if f.attname in tracked:
            names.append(f.attname)
            continue
        if f.attname not in constants:
            raise ImproperlyConfigured(
                f"{history.__name__}.{f.name}: the import does not know what to write there."
            )
        output = f.target_field if f.is_relation else f
        value = constants[f.attname]
        # A typed NULL: PostgreSQL reads a bare NULL in a SELECT list as text.
        expression = (
            Cast(Value(None), output) if value is None else Value(value, output_field=output)
        )
        name = f"history_value_{len(annotations)}"
        annotations[name] = expression
        names.append(name)
    alias = router.db_for_write(history)
    connection = connections[alias]
    # Django 5.2 keeps values_list()'s order in the SELECT, annotations included.
    query = source.order_by().annotate(**annotations).values_list(*names).query
    select, params = query.get_compiler(using=alias).as_sql()
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) {}".format(
        quote(history._meta.db_table), ", ".join(quote(c) for c in columns), select
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.rowcount
    if written != count:
        raise RuntimeError(f"{count} new {model.__name__} rows, but {written} history records.")
