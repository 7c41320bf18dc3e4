"""How the public status page holds up under load: requests per second of /status/ against a
static file of the same size, served by the same gunicorn through whitenoise, in the same run.

Targets (issue 15): /status/ for first-time visitors at 70% or more of the static file's requests
per second, on the demo and on a large history; with Redis down (the cache at a closed port), at
least 20% of it. The setup is production-like: DEBUG off, a SECRET_KEY, collectstatic into a
temporary STATIC_ROOT, gunicorn sync workers (one per CPU), a private Redis as the shared cache
(when redis-server is installed; the status page itself is kept in the database and never asks
it), and a throwaway SQLite database with the demo loaded plus 90 days of hourly uptime for its
checks, so the page has the bars it would have in real life. The large size then adds 10,000
public incidents over five years, each with three published updates, by bulk inserts
(HINDSIGHT_BENCH_STATUS_INCIDENTS=1000 for a quick look).

The static file is the rendered page itself, copied into STATIC_ROOT, so both answers carry the
same bytes. ApacheBench (`ab`, Debian package apache2-utils) drives them all in turns, a few
seconds each: the static file, first visits (no validators; ab keeps no cookies), repeat visits
(If-None-Match, answered 304) and first visits with gzip (for information); the median of the
turns is compared. Then, in this process through Django's test client, the page's two paths are
timed against the same static file: hot (the kept page) and cold (built and rendered again after
a write marked it stale). Run alone it prints and exits 0; it records the ratios with targets
(bench/results.py) for make bench's table, which fails on a missed one.

Beside it: status_history.py generates the history, status_servers.py starts Redis and gunicorn,
apachebench.py runs `ab`.

    python bench/status_page.py
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import results as record
from apachebench import CONCURRENCY, ab, repeat_visitor_headers
from status_history import large_history, uptime_history
from status_servers import ROOT, flush_redis, free_port, start_gunicorn, start_redis

TARGET = 0.7
TARGET_REDIS_DOWN = 0.2
LARGE_INCIDENTS = int(os.environ.get("HINDSIGHT_BENCH_STATUS_INCIDENTS", "10000"))
ROUNDS = 3
SECONDS = 3
STATIC_NAME = "bench-status-copy.html"
IN_PROCESS_HOT = 500
IN_PROCESS_COLD = 30


def _environment(tmp: Path, port: int) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "hindsight.settings",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "DEBUG": "false",
        # Served over plain HTTP here, in process or on 127.0.0.1: no redirect to HTTPS.
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "false",
        "STATIC_ROOT": str(tmp / "static"),
        "HINDSIGHT_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    return {**os.environ, **env}


def _prepare() -> None:
    """Migrate, load the demo, add uptime history, collect static files."""
    sys.path.insert(0, str(ROOT))
    # whitenoise looks for STATIC_ROOT before collectstatic has made it.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    uptime_history()
    call_command("collectstatic", interactive=False, verbosity=0)


def _rendered_page() -> bytes:
    """The page as this process renders it now (its kept copy marked stale first)."""
    from django.test import Client

    from incidents.statuspage.page import public_documents_mark_stale

    public_documents_mark_stale()
    response = Client().get("/status/")
    assert response.status_code == 200, response.status_code
    return response.content


def main() -> int:
    if shutil.which("ab") is None:
        print(
            "bench/status_page.py: ApacheBench (ab) is not installed, so the status page load "
            "benchmark is skipped. On Debian: apt-get install -y apache2-utils"
        )
        record.skip("needs ApacheBench (ab)")
        return 0
    with tempfile.TemporaryDirectory(prefix="hindsight-bench-status-") as name:
        tmp = Path(name)
        env = _environment(tmp, 0)
        _prepare()
        redis, redis_port = start_redis(tmp)
        if redis is None:
            print(
                "  (no redis-server: the cache is each gunicorn process's own memory; "
                "apt-get install redis-server for the shared cache)"
            )
        try:
            for size in ("demo", f"{LARGE_INCIDENTS:,} incidents over five years"):
                short = "demo" if size == "demo" else f"{LARGE_INCIDENTS:,} incidents"
                if size != "demo":
                    started = time.monotonic()
                    large_history(LARGE_INCIDENTS)
                    print(f"\n(generated in {time.monotonic() - started:.1f} s)")
                    if redis is not None:
                        flush_redis(redis_port)
                page = _rendered_page()
                (tmp / "static" / STATIC_NAME).write_bytes(page)
                print(f"\n== {size}: page of {len(page):,} bytes")
                up = f"redis://127.0.0.1:{redis_port}/0" if redis is not None else None
                _serve_and_measure(env, tmp, short, redis_url=up, redis_down=False)
                down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
                _serve_and_measure(env, tmp, short, redis_url=down, redis_down=True)
        finally:
            if redis is not None:
                os.killpg(redis.pid, signal.SIGTERM)
                redis.wait(timeout=10)
        _measure_in_process()
    return 0


def _serve_and_measure(
    env: dict[str, str], tmp: Path, size: str, *, redis_url: str | None, redis_down: bool
) -> None:
    port = free_port()
    env = {**env, "HINDSIGHT_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("REDIS_URL", None)
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    server = start_gunicorn(env, port, tmp)
    try:
        _measure(port, size, redis_down=redis_down)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _median_ms(
    request: Callable[[], None], times: int, before: Callable[[], None] | None = None
) -> float:
    samples = []
    for _ in range(times):
        if before is not None:
            before()
        started = time.perf_counter()
        request()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def _measure_in_process() -> None:
    """The two paths of one request, timed in this process through Django's test client: the
    kept page (hot), and the page built and rendered again after a write marked it stale (cold).
    The same static file through whitenoise is the baseline."""
    from django.test import Client

    from incidents.statuspage.page import public_documents_mark_stale

    client = Client()  # made after the copy was written: whitenoise lists files at start

    def get(url: str) -> Callable[[], None]:
        def request() -> None:
            assert client.get(url).status_code == 200

        return request

    static = _median_ms(get(f"/static/{STATIC_NAME}"), IN_PROCESS_HOT)
    hot = _median_ms(get("/status/"), IN_PROCESS_HOT)
    cold = _median_ms(get("/status/"), IN_PROCESS_COLD, before=public_documents_mark_stale)
    print(
        f"In one process (Django's test client), median of {IN_PROCESS_HOT} or {IN_PROCESS_COLD}:"
    )
    print(f"  static file (whitenoise)     {static:9.2f} ms")
    for label, ms in (("/status/ hot (kept)", hot), ("/status/ cold (after a write)", cold)):
        print(f"  {label:<28} {ms:9.2f} ms   {ms / static:7.1f}x the static file")


def _ratio_line(
    label: str, rps: float, static_rps: float, note: str, target: float | None, size: str
) -> None:
    ratio = rps / static_rps if static_rps else 0.0
    verdict = ""
    if target is not None:
        verdict = f"  {'meets' if ratio >= target else 'MISSES'} the target of {target:.2f}"
        record.figure(
            f"{size}: {label.strip()} against the static file",
            rps,
            unit="req/s",
            baseline=static_rps,
            target=target,
            bound=">=",
        )
    print(f"  {label:<34} {rps:9.0f} req/s  {ratio:5.2f}x static{verdict}{note}")


def _measure(port: int, size: str, *, redis_down: bool) -> None:
    base = f"http://127.0.0.1:{port}"
    status, static = f"{base}/status/", f"{base}/static/{STATIC_NAME}"
    cache = "Redis down (cache at a closed port)" if redis_down else "cache up"
    print(
        f" {cache}: gunicorn with {os.cpu_count()} sync workers, ab -c {CONCURRENCY}, "
        f"{ROUNDS} turns of {SECONDS} s each"
    )
    for url in (static, status):
        ab(url, seconds=1)  # warm up: imports, first render, kept page
    # Each kind of visit in turns with the static file, so a busy machine skews every one alike.
    visits: dict[str, tuple[str, tuple[str, ...], bool]] = {
        "static": (static, (), False),
        "first": (status, (), False),
    }
    if not redis_down:
        visits["repeat"] = (status, repeat_visitor_headers(status), True)
        visits["gzip"] = (status, ("Accept-Encoding: gzip",), False)
    results: dict[str, list[float]] = {label: [] for label in visits}
    notes: dict[str, str] = dict.fromkeys(visits, "")
    for _ in range(ROUNDS):
        for label, (url, headers, expect_304) in visits.items():
            rps, note = ab(url, seconds=SECONDS, headers=headers, expect_304=expect_304)
            results[label].append(rps)
            notes[label] += note
    median = {label: statistics.median(values) for label, values in results.items()}
    static_rps = median["static"]
    print(f"  {'static file (whitenoise)':<34} {static_rps:9.0f} req/s{notes['static']}")
    first_target = TARGET_REDIS_DOWN if redis_down else TARGET
    first = "/status/ first visits" + (", Redis down" if redis_down else "")
    _ratio_line(first, median["first"], static_rps, notes["first"], first_target, size)
    if redis_down:
        return
    _ratio_line(
        "/status/ repeat visits (304)", median["repeat"], static_rps, notes["repeat"], TARGET, size
    )
    _ratio_line(
        "/status/ first visits, gzip", median["gzip"], static_rps, notes["gzip"], None, size
    )


if __name__ == "__main__":
    record.run(main)
