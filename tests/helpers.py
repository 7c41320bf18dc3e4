from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction


def assert_violates(constraint: str, write: Callable[[], object], *, columns: str = "") -> None:
    """The database itself refuses the write, naming the constraint.

    SQLite names the columns instead of the constraint for UNIQUE violations; `columns` is that
    spelling ("table.col, table.col2"), checked only there.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    message = str(excinfo.value)
    if connection.vendor == "sqlite" and columns:
        assert f"UNIQUE constraint failed: {columns}" in message, message
    else:
        assert constraint in message, message
