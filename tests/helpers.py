from __future__ import annotations

import re
import threading
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


def search(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """re.search() that fails the test, naming the pattern, when nothing matches."""
    match = re.search(pattern, text, flags)
    assert match is not None, f"nothing matches {pattern!r}"
    return match


def run_in_threads(count: int, work: Callable[[int], object]) -> list:
    """Start `count` threads at one barrier; each has its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
