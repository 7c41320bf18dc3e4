"""How search scales: the incident list and the API searched with `q`, at 100 incidents and at
10,000 (HINDSIGHT_BENCH_SEARCH_SIZES to change them, e.g. "100,10000,100000").

Each incident has a post-mortem of a realistic shape (30 timeline lines, 8 action items, 2 causes,
3 lessons, a summary), written in words drawn from a vocabulary of 2,000, where "worker" is common
(in about one incident of five) and "zeppelin" never appears. Search documents are built with
`search_rebuild`, as after an upgrade. The target (issue 18) is the big size within 2x of the
small one. Times are medians of requests through Django's test client with a logged-in session,
so they include the middleware, the view and the template or serializer.

PostgreSQL only: it needs DATABASE_URL=postgres://..., creates a database of its own next to that
one, and drops it at the end. Like the other benchmarks it prints and never fails.

    DATABASE_URL=postgres://... python bench/search_scale.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SIZES = [int(n) for n in os.environ.get("HINDSIGHT_BENCH_SEARCH_SIZES", "100,10000").split(",")]
REPEATS = 10
TARGET = 2.0
T0 = datetime(2021, 1, 1, tzinfo=UTC)
DATABASE = "hindsight_bench_search"
QUERIES = [
    ("page, q=worker", "/incidents/", {"q": "worker"}),
    ("page, q=worker sev2", "/incidents/", {"q": "worker", "severity": "sev2"}),
    ("page, no hit", "/incidents/", {"q": "zeppelin"}),
    ("API, q=worker", "/api/v1/incidents", {"q": "worker"}),
    ("API, no hit", "/api/v1/incidents", {"q": "zeppelin"}),
]


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


def _setup(url: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DATABASE_URL": _with_database(url, DATABASE),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_COOKIES": "false",
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("REDIS_URL", None)
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _vocabulary(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "da", "pe", "qu", "zo"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(3000)}
    return sorted(words)[:2000]


def _text(rng: random.Random, words: list[str], count: int, worker: bool) -> str:
    chosen = rng.choices(words, k=count)
    if worker:
        chosen[rng.randrange(count)] = "worker"
    return " ".join(chosen).capitalize() + "."


def _grow(to: int, rng: random.Random, words: list[str]) -> None:
    from deployments.models import Service
    from incidents.models import ActionItem, Cause, Incident, Lesson, TimelineEvent

    services = list(Service.objects.all()) or Service.objects.bulk_create(
        Service(name=f"Service {i}", slug=f"service-{i}") for i in range(50)
    )
    have = Incident.objects.count()
    for start in range(have, to, 1000):
        batch = range(start, min(start + 1000, to))
        incidents = Incident.objects.bulk_create(
            Incident(
                number=n + 1,
                service=services[n % len(services)],
                title=_text(rng, words, 6, rng.random() < 0.05),
                severity=f"sev{1 + n % 4}",
                status="resolved",
                started_at=T0 + timedelta(hours=4 * n),
                resolved_at=T0 + timedelta(hours=4 * n + 1),
                summary=_text(rng, words, 60, rng.random() < 0.05),
            )
            for n in batch
        )
        worker = {i.pk: rng.random() < 0.2 for i in incidents}
        TimelineEvent.objects.bulk_create(
            TimelineEvent(
                incident=i,
                occurred_at=i.started_at + timedelta(minutes=k),
                text=_text(rng, words, 15, worker[i.pk] and k == 7),
            )
            for i in incidents
            for k in range(30)
        )
        ActionItem.objects.bulk_create(
            ActionItem(incident=i, title=_text(rng, words, 8, False), order=k)
            for i in incidents
            for k in range(8)
        )
        Cause.objects.bulk_create(
            Cause(incident=i, title=_text(rng, words, 8, False), order=k)
            for i in incidents
            for k in range(2)
        )
        Lesson.objects.bulk_create(
            Lesson(incident=i, kind="went_wrong", text=_text(rng, words, 20, False), order=k)
            for i in incidents
            for k in range(3)
        )


def _measure(client: Any) -> dict[str, float]:
    times = {}
    for name, path, params in QUERIES:
        assert client.get(path, params).status_code == 200  # warm
        samples = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            response = client.get(path, params)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        times[name] = statistics.median(samples) * 1000
    return times


def _explain(words: str) -> None:
    """The plans of the API's search at the biggest size: its count, then its first page."""
    from django.db import connection

    from incidents.insights.search import incident_search
    from incidents.models import Incident

    searched = incident_search(Incident.objects.counted(), words)
    print(f"\nPlans of q={words}, the API's count and then its first page:")
    count_sql, params = searched.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ANALYZE SELECT COUNT(*) FROM ({count_sql}) AS q", params)
        print("\n".join(row[0] for row in cursor.fetchall()))
    print(searched.values("pk", "number", "title")[:25].explain(analyze=True))


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in {"postgres", "postgresql"}:
        print("Skipped: search_scale needs DATABASE_URL=postgres://...")
        return 0
    _admin(url, f"DROP DATABASE IF EXISTS {DATABASE}")
    _admin(url, f"CREATE DATABASE {DATABASE}")
    static = tempfile.TemporaryDirectory(prefix="hindsight-bench-search-")
    try:
        # DEBUG off (as served) needs the static files' manifest for the page's {% static %}.
        os.environ["STATIC_ROOT"] = str(Path(static.name) / "static")
        _setup(url)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from core.roles import Role
        from incidents.insights.services import search_documents_rebuild

        call_command("collectstatic", "--noinput", verbosity=0)
        user = get_user_model().objects.create_user("bench-reader")
        user.groups.add(Group.objects.get(name=Role.VIEWER))
        client = Client()
        client.force_login(user)
        rng = random.Random(18)
        words = _vocabulary(rng)
        results: dict[int, dict[str, float]] = {}
        for size in SIZES:
            started = time.monotonic()
            _grow(size, rng, words)
            built = search_documents_rebuild()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            print(
                f"{size:>7} incidents: data and {built} search documents in "
                f"{time.monotonic() - started:.0f} s"
            )
            results[size] = _measure(client)
        _explain("worker")
        small, big = SIZES[0], SIZES[-1]
        print(f"\n{'':24}" + "".join(f"{size:>10}" for size in SIZES) + "     ratio")
        for name, *_ in QUERIES:
            ratio = results[big][name] / results[small][name]
            verdict = "ok" if ratio <= TARGET else f"over {TARGET}x"
            print(
                f"{name:24}"
                + "".join(f"{results[s][name]:>8.1f}ms" for s in SIZES)
                + f"  {ratio:5.2f}x {verdict}"
            )
    finally:
        from django.db import connections

        connections.close_all()
        _admin(url, f"DROP DATABASE IF EXISTS {DATABASE}")
        static.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
