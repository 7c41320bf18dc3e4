"""Five years of history against day one (issue 18): does each page cost what it shows, or what
the database holds?

It generates a history on PostgreSQL (bench/scale_history.py) at 100 incidents and at 10,000
(and, for search only, at 100,000), then times the pages and API lists people use every day
through Django's test client and the whole middleware stack, logged in as the person who owns
the most action items (an editor). Every size spans the same five years and shares the same 50
services, 50 people and month of minute health results for 50 checks; what grows is the number
of incidents and everything that comes with them (per incident: 30 timeline events, 8 action
items, 3 causes, 3 lessons, 2 success criteria, 20 deployments, 5 changes, 5 answers of the
gate, and the hourly roll-ups of the hours its check failed).

Each figure is the median wall time of several requests after warm-up, the sizes taking turns so
that a busy machine slows them alike. The target is every page at 10,000 (and each search at
100,000) within 2x of the same page at 100. It prints one table and exits 1 when a target is
missed; it also records each ratio (bench/results.py) for make bench's table.

PostgreSQL only: it needs DATABASE_URL=postgres://... with a role that may create databases; it
creates its own next to that one and drops them at the end. Without PostgreSQL it says so and
exits 0.

    DATABASE_URL=postgres://... python bench/scale.py
    HINDSIGHT_BENCH_SCALE_QUICK=1 python bench/scale.py    # 100 against 1,000, a day of health

Environment (each optional):
    HINDSIGHT_BENCH_SCALE_INCIDENTS    the big size (10000; 1000 with QUICK)
    HINDSIGHT_BENCH_SCALE_SEARCH       the search-only size (100000; 0 with QUICK; 0 skips it)
    HINDSIGHT_BENCH_SCALE_HEALTH_DAYS  days of minute health results (30; 1 with QUICK)
    HINDSIGHT_BENCH_SCALE_REPEATS      timed requests per page and size (7; 3 with QUICK)
    HINDSIGHT_BENCH_SCALE_PAGES        only the pages whose label contains one of these
                                       comma-separated words (all pages when unset), for a quick
                                       look at the page one is working on
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import results as record

if TYPE_CHECKING:
    import psycopg
    from django.test import Client

QUICK = os.environ.get("HINDSIGHT_BENCH_SCALE_QUICK", "") not in ("", "0")
SMALL = 100
BIG = int(os.environ.get("HINDSIGHT_BENCH_SCALE_INCIDENTS", "1000" if QUICK else "10000"))
SEARCH = int(os.environ.get("HINDSIGHT_BENCH_SCALE_SEARCH", "0" if QUICK else "100000"))
HEALTH_DAYS = float(os.environ.get("HINDSIGHT_BENCH_SCALE_HEALTH_DAYS", "1" if QUICK else "30"))
REPEATS = int(os.environ.get("HINDSIGHT_BENCH_SCALE_REPEATS", "3" if QUICK else "7"))
ONLY = [word.strip() for word in os.environ.get("HINDSIGHT_BENCH_SCALE_PAGES", "").split(",")]
WARMUP = 2
TARGET = 2.0
# The metrics page filtered to one service (bench/scale_history.py names them service-01 ...).
METRICS_SERVICE = "service-07"
# Enough `next` links to reach the last page of 100,000 rows at 50 a page, when ?page=last
# is not understood.
MAX_HOPS = 2500

_STARTED = time.monotonic()


def _say(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {text}", flush=True)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin(url: str) -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(url, autocommit=True)


@dataclass
class Page:
    label: str
    path: str  # "" when resolved per size (the deep page)
    search: bool = False  # also measured at the search-only size
    resolve: Callable[[Client], str] | None = None


@dataclass
class Figures:
    ms: dict[int, float] = field(default_factory=dict)
    kb: dict[int, float] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _deep_page(client: Client) -> str:
    """The API's last page of incidents: ?page=last where it is understood, else as far as
    the `next` links go (page numbers or cursors alike)."""
    base = "/api/v1/incidents"
    if client.get(base, {"page": "last"}).status_code == 200:
        return f"{base}?page=last"
    url = base
    for _ in range(MAX_HOPS):
        response = client.get(url)
        following = response.json().get("next") if response.status_code == 200 else None
        if not following:
            break
        url = _relative(following)
    return url


def _pages() -> list[Page]:
    pages = _all_pages()
    wanted = [word for word in ONLY if word]
    if not wanted:
        return pages
    return [page for page in pages if any(word in page.label for word in wanted)]


def _all_pages() -> list[Page]:
    from scale_texts import SEARCH_HIT, SEARCH_MISS

    return [
        Page("incident list, page 1", "/incidents/"),
        Page(f'search page "{SEARCH_HIT}"', f"/incidents/?q={SEARCH_HIT}", search=True),
        Page("search page, no hit", f"/incidents/?q={SEARCH_MISS}", search=True),
        Page(
            f'API incidents q="{SEARCH_HIT}"',
            f"/api/v1/incidents?q={SEARCH_HIT}&page_size=25",
            search=True,
        ),
        Page(
            "API incidents q, no hit",
            f"/api/v1/incidents?q={SEARCH_MISS}&page_size=25",
            search=True,
        ),
        Page("API action items status=open", "/api/v1/action-items?status=open"),
        Page("API incidents, last page", "", resolve=_deep_page),
        Page("incident page (newest)", ""),
        Page("action items, mine + overdue", "/action-items/?mine=on&overdue=on"),
        Page("dashboard", "/"),
        Page("metrics page, 12 months", "/metrics/"),
        Page("metrics page, one service", f"/metrics/?service={METRICS_SERVICE}"),
    ]


def _setup(url: str, base: str, tmp: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DATABASE_URL": _with_database(url, base),
            "DEBUG": "false",
            # Served over plain HTTP here, in process or on 127.0.0.1: no redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_COOKIES": "false",
            "LOG_LEVEL": "ERROR",
            # DEBUG off (as served) needs the static files' manifest for the pages' {% static %}.
            "STATIC_ROOT": str(Path(tmp) / "static"),
        }
    )
    os.environ.pop("REDIS_URL", None)
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    # Finding the last page asks for ?page=last, which may answer 404: that is not news.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)


def _use(name: str) -> None:
    """Point the default connection at one size's database, and the cache at its own keys, so
    nothing one size cached is served to another."""
    from django.core.cache import caches
    from django.db import connections

    connection = connections["default"]
    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
    connection.ensure_connection()
    caches["default"].key_prefix = name


def _generate(url: str, names: dict[int, str], now: datetime) -> None:
    from django.db import connection, connections
    from scale_history import (
        BASE_TABLES,
        HISTORY_TABLES,
        history_base,
        history_fill,
        vacuum,
    )

    _say(f"people, services, checks and {HEALTH_DAYS:g} days of minute health results")
    history_base(now=now, health_days=HEALTH_DAYS)
    vacuum(BASE_TABLES)
    connections.close_all()
    base = connection.settings_dict["NAME"]
    with _admin(url) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')
    for size, name in names.items():
        _use(name)
        began = time.monotonic()
        text_only = size not in (SMALL, BIG)
        counts = history_fill(incidents=size, now=now, text_only=text_only)
        # The health tables came vacuumed from the template.
        vacuum(HISTORY_TABLES)
        rows = ", ".join(f"{n:,} {table}" for table, n in counts.items())
        _say(f"{size:,} incidents in {time.monotonic() - began:.0f} s: {rows}")


def _measure(names: dict[int, str], pages: list[Page]) -> dict[str, Figures]:
    from django.test import Client
    from scale_history import busiest_owner

    from incidents.models import Incident

    clients: dict[int, Client] = {}
    paths: dict[tuple[str, int], str] = {}
    for size, name in names.items():
        _use(name)
        client = clients[size] = Client()
        client.force_login(busiest_owner())
        newest = Incident.objects.order_by("-started_at", "-number").first()
        for page in pages:
            # The search-only size has no deployments or changes: only its searches are timed.
            if page.search or size in (SMALL, BIG):
                if page.resolve is not None:
                    paths[page.label, size] = page.resolve(client)
                elif page.path:
                    paths[page.label, size] = page.path
                elif newest is not None:
                    paths[page.label, size] = f"/incidents/{newest.reference}/"
    samples: dict[tuple[str, int], list[float]] = {key: [] for key in paths}
    figures = {page.label: Figures() for page in pages}
    for round_ in range(WARMUP + REPEATS):
        for size, name in names.items():
            _use(name)
            for page in pages:
                if (page.label, size) not in paths:
                    continue
                began = time.perf_counter()
                response = clients[size].get(paths[page.label, size])
                elapsed = time.perf_counter() - began
                if response.status_code != 200:
                    figures[page.label].errors[size] = f"HTTP {response.status_code}"
                figures[page.label].kb[size] = len(response.content) / 1024
                if round_ >= WARMUP:
                    samples[page.label, size].append(elapsed)
    for (label, size), times in samples.items():
        figures[label].ms[size] = statistics.median(times) * 1000
    return figures


def _report(figures: dict[str, Figures], sizes: list[int]) -> int:
    """Print the table; return how many targets were missed."""
    big = [size for size in sizes if size != SMALL]
    head = f"{'page':34} {SMALL:>9,}"
    for size in big:
        head += f" {size:>9,} {'ratio':>6}"
    print(f"\n{head} {'target':>7}  verdict   KB at {' / '.join(f'{s:,}' for s in sizes)}")
    missed = 0
    for label, figure in figures.items():
        line = f"{label:34} {figure.ms.get(SMALL, float('nan')):9.1f}"
        verdicts = []
        for size in big:
            if size in figure.ms and SMALL in figure.ms:
                ratio = figure.ms[size] / figure.ms[SMALL]
                line += f" {figure.ms[size]:9.1f} {ratio:6.2f}"
                verdicts.append(ratio <= TARGET)
                record.figure(
                    f"{label} at {size:,} against {SMALL:,}",
                    figure.ms[size],
                    unit="ms",
                    baseline=figure.ms[SMALL],
                    target=TARGET,
                )
            else:
                line += f" {'-':>9} {'-':>6}"
        if figure.errors:
            verdict = "error " + ", ".join(f"{e} at {s:,}" for s, e in figure.errors.items())
            missed += 1
            for size, error in figure.errors.items():
                record.check(f"{label} at {size:,} answers", met=False, seen=error, wanted="200")
        elif all(verdicts):
            verdict = "met"
        else:
            verdict = "MISSED"
            missed += 1
        kb = " / ".join(f"{figure.kb[s]:.0f}" if s in figure.kb else "-" for s in sizes)
        print(f"{line} {TARGET:6.1f}x  {verdict:8}  {kb}")
    print(f"\nms: median of {REPEATS} requests after {WARMUP} of warm-up, wall time")
    return missed


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        print("bench/scale.py: skipped, it needs PostgreSQL: set DATABASE_URL=postgres://...")
        record.skip("needs PostgreSQL")
        return 0
    pages = _pages()
    # The search-only size takes minutes to generate: only when a search is timed.
    searched = SEARCH and SEARCH not in (SMALL, BIG) and any(page.search for page in pages)
    sizes = [SMALL, BIG] + ([SEARCH] if searched else [])
    prefix = f"hindsight_bench_scale_{os.getpid()}"
    names = {size: f"{prefix}_{size}" for size in sizes}
    base = f"{prefix}_base"
    with _admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{base}"')
    try:
        with tempfile.TemporaryDirectory(prefix="hindsight-bench-scale-") as tmp:
            _setup(url, base, tmp)
            from django.utils import timezone

            _generate(url, names, timezone.now())
            _say("timing the pages")
            figures = _measure(names, pages)
            missed = _report(figures, sizes)
    finally:
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        with _admin(url) as admin:
            for name in [base, *names.values()]:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _say(f"{missed} of {len(figures)} targets missed" if missed else "every target met")
    return 1 if missed else 0


if __name__ == "__main__":
    record.run(main)
