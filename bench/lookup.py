"""How the incident page's health look-up scales: the snapshots and check results of one service
around an incident window, at 100,000 result rows and at 10,000,000.

The look-up is deployments.selectors.results_between + snapshots_between over a two-hour window
(the same 121 snapshots and 605 results at both sizes). The target (issue 5) is the big table
within 2x of the small one, which holds when both are range scans of the (service, taken_at)
indexes: the plan printed at the end must use result_service_time_idx.

PostgreSQL only: it needs DATABASE_URL=postgres://..., creates a database of its own next to that
one (the role must be allowed to create databases), fills it with INSERT ... SELECT
generate_series, and drops it at the end. Without PostgreSQL it says so and exits 0. Run alone
it prints and exits 0; it records its figures (bench/results.py) for make bench's table, which
fails on a missed target.

    DATABASE_URL=postgres://... python bench/lookup.py
    HINDSIGHT_BENCH_LOOKUP_ROWS=1000000 python bench/lookup.py    # a quicker, smaller big size
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import results as record

if TYPE_CHECKING:
    import psycopg

    from deployments.models import Service

SMALL = 100_000
BIG = int(os.environ.get("HINDSIGHT_BENCH_LOOKUP_ROWS", "10000000"))
SERVICES = 100
CHECKS = 5
PER_MINUTE = SERVICES * CHECKS  # one snapshot a minute per service, a result per check
CHUNK_MINUTES = 2000  # 1,000,000 results per INSERT
REPEATS = 200
TARGET = 2.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_END_MINUTE = 160
WINDOW = (T0 + timedelta(minutes=40), T0 + timedelta(minutes=WINDOW_END_MINUTE))


_STARTED = time.monotonic()


def _elapsed() -> str:
    return f"{time.monotonic() - _STARTED:.0f} s"


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str) -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _setup(url: str, *, big: str, small: str) -> None:
    """Django on the big database, migrated; the small one is a copy of it, empty."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DATABASE_URL": _with_database(url, big),
            "DEBUG": "false",
            # Served over plain HTTP here, in process or on 127.0.0.1: no redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("REDIS_URL", None)
    warnings.filterwarnings("ignore", message="No directory at")
    import django
    from django.conf import settings

    django.setup()
    default = settings.DATABASES["default"]
    settings.DATABASES["big"] = dict(default)
    settings.DATABASES["small"] = {**default, "NAME": small}
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    connections.close_all()
    with _admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{small}" TEMPLATE "{big}"')


def _execute(sql: str, params: dict | None = None, *, using: str = "default") -> None:
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)


def _fill(rows: int, *, using: str) -> int:
    """Services, checks, and a snapshot a minute per service with a result per check."""
    from django.db import DatabaseError, transaction

    try:
        # Generated rows are consistent by construction; skipping the foreign key triggers (a
        # superuser may) makes loading ten million of them minutes faster. No effect on reads.
        with transaction.atomic(using=using):
            _execute("SET session_replication_role = replica", using=using)
    except DatabaseError:
        pass
    _execute(
        "INSERT INTO deployments_service (name, slug, public_url, description, created_at) "
        "SELECT 'Bench ' || i, 'bench-' || i, '', '', now() FROM generate_series(1, %(n)s) i",
        {"n": SERVICES},
        using=using,
    )
    _execute(
        "INSERT INTO deployments_healthcheck (service_id, name, url, method, expected_status, "
        'expected_body, timeout_seconds, interval_seconds, enabled, "order") '
        "SELECT s.id, 'Check ' || c, 'https://bench.example.test/' || c, 'GET', 200, '', 10, 60, "
        "true, c FROM deployments_service s, generate_series(1, %(n)s) c",
        {"n": CHECKS},
        using=using,
    )
    minutes = max(rows // PER_MINUTE, WINDOW_END_MINUTE + 1)
    for start in range(0, minutes, CHUNK_MINUTES):
        end = min(start + CHUNK_MINUTES, minutes)
        bounds = {"t0": T0, "from": start, "to": end}
        _execute(
            "INSERT INTO deployments_healthsnapshot (service_id, taken_at, status, kind) "
            "SELECT s.id, %(t0)s + m * interval '1 minute', 'up', 'scheduled' "
            "FROM generate_series(%(from)s, %(to)s - 1) m, deployments_service s",
            bounds,
            using=using,
        )
        _execute(
            "INSERT INTO deployments_checkresult (snapshot_id, health_check_id, service_id, "
            "taken_at, ok, status_code, latency_ms, error) "
            "SELECT sn.id, c.id, sn.service_id, sn.taken_at, true, 200, "
            "(20 + random() * 300)::int, '' "
            "FROM deployments_healthsnapshot sn "
            "JOIN deployments_healthcheck c ON c.service_id = sn.service_id "
            "WHERE sn.taken_at >= %(t0)s + %(from)s * interval '1 minute' "
            "AND sn.taken_at < %(t0)s + %(to)s * interval '1 minute'",
            bounds,
            using=using,
        )
        print(f"  {using}: {end * PER_MINUTE:>12,} result rows ({_elapsed()})", flush=True)
    _execute("SET session_replication_role = DEFAULT", using=using)
    _execute("VACUUM ANALYZE deployments_healthsnapshot", using=using)
    _execute("VACUUM ANALYZE deployments_checkresult", using=using)
    return minutes * PER_MINUTE


def _lookup(service: Service, using: str) -> tuple[int, int]:
    from deployments.selectors import results_between, snapshots_between

    start, end = WINDOW
    results = list(results_between(service=service, start=start, end=end).using(using))
    snapshots = list(snapshots_between(service=service, start=start, end=end).using(using))
    return len(results), len(snapshots)


def _medians_ms(services: Mapping[str, Service]) -> dict[str, float]:
    """Median wall time of the look-up in each database, measured in turns so that a busy
    machine slows both alike instead of skewing the ratio."""
    samples: dict[str, list[float]] = {using: [] for using in services}
    for repeat in range(REPEATS + 20):
        for using, service in services.items():
            began = time.perf_counter()
            _lookup(service, using)
            if repeat >= 20:  # the first rounds warm the caches
                samples[using].append(time.perf_counter() - began)
    return {using: statistics.median(times) * 1000 for using, times in samples.items()}


def _bench() -> None:
    from deployments.models import Service
    from deployments.selectors import results_between, snapshots_between

    print(
        f"Health look-up around an incident window: {SERVICES} services x {CHECKS} checks, "
        f"set up in {_elapsed()}"
    )
    sizes = {"small": _fill(SMALL, using="small"), "big": _fill(BIG, using="big")}
    slug = f"bench-{SERVICES // 2}"
    services = {using: Service.objects.using(using).get(slug=slug) for using in sizes}
    counts = {using: _lookup(service, using) for using, service in services.items()}
    assert counts["small"] == counts["big"], counts  # the same window, the same rows
    medians = _medians_ms(services)

    ratio = medians["big"] / medians["small"]
    results, snapshots = counts["small"]
    print(
        f"\nresults_between + snapshots_between ({results} results, {snapshots} snapshots), "
        f"median of {REPEATS}:"
    )
    for using, rows in sizes.items():
        print(f"  {rows:>12,} result rows  {medians[using]:8.2f} ms")
    verdict = "within target" if ratio <= TARGET else "OVER TARGET"
    print(f"  ratio {ratio:.2f} (target <= {TARGET}): {verdict}")
    record.figure(
        f"look-up at {sizes['big']:,} result rows against {sizes['small']:,}",
        medians["big"],
        unit="ms",
        baseline=medians["small"],
        target=TARGET,
    )

    start, end = WINDOW
    service = services["big"]
    plan = results_between(service=service, start=start, end=end).using("big").explain(analyze=True)
    uses = "result_service_time_idx" in plan
    print(
        f"\nEXPLAIN ANALYZE results_between at {sizes['big']:,} rows "
        f"({'uses' if uses else 'DOES NOT USE'} result_service_time_idx):"
    )
    print("\n".join(f"  {line}" for line in plan.splitlines()))
    record.check(
        f"plan at {sizes['big']:,} rows",
        met=uses,
        seen="uses the index" if uses else "no index",
        wanted="result_service_time_idx",
    )
    plan = snapshots_between(service=service, start=start, end=end).using("big").explain()
    print("\nEXPLAIN snapshots_between:")
    print("\n".join(f"  {line}" for line in plan.splitlines()))


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not _is_postgres(url):
        print(
            "bench/lookup.py: skipped, it needs PostgreSQL: set DATABASE_URL=postgres://... "
            "(a role that may create databases)."
        )
        record.skip("needs PostgreSQL")
        return 0
    names = {size: f"hindsight_bench_lookup_{size}_{os.getpid()}" for size in ("big", "small")}
    with _admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{names["big"]}"')
    try:
        _setup(url, **names)
        _bench()
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        with _admin(url) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    record.run(main)
