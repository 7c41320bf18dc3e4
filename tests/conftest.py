"""Suite-wide plumbing: which real services this run has, Chromium for Playwright, a Celery worker.

scripts/test.sh starts private PostgreSQL and Redis servers when their binaries exist and says
which are real in HINDSIGHT_TEST_SERVICES. Tests that need a missing one are skipped with the
reason, never run against a stand-in.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

# Playwright's sync API keeps an event loop running in the main thread, which makes Django refuse
# ORM calls from live_server tests with SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium instead of Playwright's download, which this network cannot fetch.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _redis_url() -> str:
    from django.conf import settings

    return getattr(settings, "REDIS_URL", "")


def pytest_report_header(config: pytest.Config) -> str:
    from django.db import connection

    services = os.environ.get("HINDSIGHT_TEST_SERVICES")
    if services is None:
        services = "(unset: scripts/test.sh provides private PostgreSQL and Redis)"
    return (
        f"hindsight: database={connection.vendor}, redis={'yes' if _redis_url() else 'no'}, "
        f"chromium={'yes' if CHROMIUM.exists() else 'no'}, HINDSIGHT_TEST_SERVICES={services}"
    )


def _give_each_test_its_own_id(items: list[pytest.Item]) -> None:
    """pytest 9.2 builds a test's id from its function's name and its parameters, and
    schemathesis 4.32 gives its tests (one per API operation) their operation in the name only:
    all 96 had one id. xdist's loadgroup schedules tests by id, so it ran one of them and dropped
    the others without a word. The id gets the operation from the name as its parameters.

    The id is pytest's own attribute (no public way to set it); if that ever changes, the check
    below fails the run rather than let tests go missing.
    """

    def shared() -> set[str]:
        return {nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1}

    ids = shared()
    for item in items:
        original = getattr(item, "originalname", item.name)
        params = item.name.removeprefix(original)
        if item.nodeid in ids and item.parent is not None and params[:1] == "[":
            item._id = item.parent.id.child(original).with_params(params[1:-1])
    if ids := shared():
        raise pytest.UsageError(f"these ids name more than one test, so not all would run: {ids}")


def _xdist_group(item: pytest.Item) -> str:
    """The group pytest-xdist gives the test, named as it names it; "" for none."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names))


def _put_each_group_in_its_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --dist loadgroup, the tests of one xdist_group run on one worker, one after another.

    The one group, "one-at-a-time", holds the tests that measure time (timeouts, concurrency
    caps, "answers within a second") or kill worker processes: none of them runs beside
    another. (Tests outside it go on running on the other workers meanwhile.)

    xdist 3.8 tells its scheduler a test's group by appending "@group" to the test's id, in an
    attribute that pytest 9.2 no longer reads (pytest-xdist issue 1386): every group was
    ignored, its tests spread over all workers. This appends it to the id pytest 9.2 keeps, and
    stops the run if any grouped test still lacks it.
    """
    if not getattr(config.option, "loadgroup", False):  # xdist sets it on its workers
        return
    for item in items:
        suffix = f"@{group}" if (group := _xdist_group(item)) else ""
        if suffix and not item.nodeid.endswith(suffix) and item.parent is not None:
            item._id = item.parent.id.child(item.name + suffix)
    lost = [i.nodeid for i in items if (g := _xdist_group(i)) and not i.nodeid.endswith(f"@{g}")]
    if lost:
        raise pytest.UsageError(f"these tests would run outside their xdist_group: {lost}")


@pytest.hookimpl(trylast=True)  # after xdist's own attempt at the group ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    _give_each_test_its_own_id(items)
    _put_each_group_in_its_ids(config, items)

    reasons = {}
    if connection.vendor != "postgresql":
        reasons["postgres"] = (
            f"needs PostgreSQL; this run uses {connection.vendor} (no DATABASE_URL)"
        )
    if not _redis_url():
        reasons["redis"] = "needs a real Redis; REDIS_URL is unset"
        reasons["celery_worker"] = "needs a real Redis for the Celery worker; REDIS_URL is unset"
    if not CHROMIUM.exists():
        reasons["browser"] = f"needs Chromium at {CHROMIUM}"
    if not reasons:
        return
    for item in items:
        for marker, reason in reasons.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.fixture(autouse=True)
def _fresh_throttle_history(monkeypatch) -> None:
    # Each test starts with no requests counted against any rate, without flushing the shared
    # cache (on Redis that would also empty the Celery broker's queues) and without a query
    # (the database counts when there is no Redis) in the query budgets.
    from django.core.cache.backends.locmem import LocMemCache

    from api import ratelimit

    cache = LocMemCache("test-throttle", {})
    cache.clear()
    monkeypatch.setattr(ratelimit, "_counter", ratelimit.CacheCounter(cache))


@pytest.fixture(autouse=True)
def _redis_not_paused(monkeypatch) -> None:
    # A test that took Redis down pauses the process's asking it for a while (core.redis_pause);
    # the next test starts with a Redis it may ask.
    from core import redis_pause

    monkeypatch.setattr(redis_pause, "_paused_until", 0.0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2 costs about 0.4 s a hash by design; tests are about who may log in, not the hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def back_to_the_latest_schema() -> Iterator[None]:
    """For a test that migrates back to check a data migration: every later test needs every
    migration applied, not just the ones this test stops at."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The demo, loaded once for a module inside a transaction rolled back after it.

    Each test then runs in a savepoint of its own, as in Django's setUpTestData: loading the demo
    costs a second or two, once per test of a module that reads it. Not for transactional tests.
    """
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    # The hasher _fast_password_hashing sets for each test, so the demo's passwords check there.
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic():
        with fast:
            call_command("load_demo", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[object]:
    """A real Celery worker in a thread of this process, consuming from the real REDIS_URL.

    It sees only committed rows, so tests that use it need transactions, which this fixture
    turns on (mark the test `@pytest.mark.django_db(transaction=True)` to say so). Tasks
    published during the test go through Redis, not eagerly.
    """
    if not _redis_url():
        pytest.skip("needs a real Redis for the Celery worker; REDIS_URL is unset")

    # The worker's ping check needs celery.ping registered; without this import it fails with a
    # bare AssertionError.
    import celery.contrib.testing.tasks  # noqa: F401
    from celery.contrib.testing.worker import start_worker

    from hindsight.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=True) as worker:
            yield worker
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture
def eager() -> Iterator[None]:
    """No broker: what the outbox publishes after commit runs right here, as Celery's eager
    mode runs a task; the module that asks for it sees the task's effects at once."""
    from celery import current_app

    saved = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = saved


@pytest.fixture
def fresh_cache(monkeypatch, request) -> BaseCache:
    """A private, empty cache for what the status page still keeps in the shared cache (the
    sign-up throttle and confirmations), one per test. A browser test's live server runs in a
    thread of this process, so its pages see this cache too."""
    from django.core.cache.backends.locmem import LocMemCache

    cache = LocMemCache(f"status-{request.node.nodeid}", {})
    cache.clear()
    for module in ("views.subscribers", "services.subscribers"):
        monkeypatch.setattr(f"incidents.statuspage.{module}.cache", cache)
    return cache
