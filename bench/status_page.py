"""How the public status page holds up under load: requests per second of /status/ against a
static file of the same size, served by the same gunicorn through whitenoise, in the same run.

Targets (issue 15): /status/ for first-time visitors at 70% or more of the static file's requests
per second, on the demo and on a large history; with Redis down (the cache at a closed port), at
least 20% of it. The setup is production-like: DEBUG off, a SECRET_KEY, collectstatic into a
temporary STATIC_ROOT, gunicorn sync workers (one per CPU), a private Redis as the shared cache
(when redis-server is installed; otherwise each process's memory, and the bench says so), and a
throwaway SQLite database with the demo loaded plus 90 days of hourly uptime for its checks, so
the page has the bars it would have in real life. The large size then adds 10,000 public
incidents over five years, each with three published updates, by bulk inserts
(HINDSIGHT_BENCH_STATUS_INCIDENTS=1000 for a quick look).

The static file is the rendered page itself, copied into STATIC_ROOT, so both answers carry the
same bytes. ApacheBench (`ab`, Debian package apache2-utils) drives both, in turns, a few seconds
each; the median of the turns is compared. First visits send no validators (ab keeps no
cookies); repeat visitors send If-None-Match and get 304; both without Accept-Encoding, like the
static file, and once more with gzip for information. Then, in this process through Django's
test client, the page's two paths are timed against the same static file: hot (served from the
cache) and cold (built and rendered again after a write dropped the cache). Like the other
benchmarks it prints and never fails.

    python bench/status_page.py
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.7
TARGET_REDIS_DOWN = 0.2
LARGE_INCIDENTS = int(os.environ.get("HINDSIGHT_BENCH_STATUS_INCIDENTS", "10000"))
UPDATES_PER_INCIDENT = 3
ROUNDS = 3
SECONDS = 3
CONCURRENCY = 8
STATIC_NAME = "bench-status-copy.html"
IN_PROCESS_HOT = 500
IN_PROCESS_COLD = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(tmp: Path, port: int) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "hindsight.settings",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "DEBUG": "false",
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
    _uptime_history()
    call_command("collectstatic", interactive=False, verbosity=0)


def _uptime_history() -> None:
    """90 days of hourly roll-ups for every demo check, one bad afternoon, and a fresh answer."""
    from django.utils import timezone

    from deployments.models import CheckResult, CheckResultHourly, HealthCheck, HealthSnapshot

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    checks = list(HealthCheck.objects.filter(enabled=True))
    rows = []
    for check in checks:
        for hours_ago in range(1, 90 * 24):
            bad = 17 * 24 <= hours_ago < 17 * 24 + 3
            rows.append(
                CheckResultHourly(
                    health_check=check,
                    service_id=check.service_id,
                    hour=now - timedelta(hours=hours_ago),
                    samples=60,
                    ok_count=12 if bad else 60,
                    latency_p50_ms=120,
                    latency_p95_ms=480,
                )
            )
    CheckResultHourly.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    taken_at = timezone.now() - timedelta(seconds=30)
    for service_id in {check.service_id for check in checks}:
        snapshot = HealthSnapshot.objects.create(
            service_id=service_id, taken_at=taken_at, status="up"
        )
        CheckResult.objects.bulk_create(
            CheckResult(
                snapshot=snapshot,
                health_check=check,
                service_id=service_id,
                taken_at=taken_at,
                ok=True,
                status_code=200,
                latency_ms=110,
            )
            for check in checks
            if check.service_id == service_id
        )


def _large_history(count: int) -> None:
    """`count` resolved public incidents over five years, each with UPDATES_PER_INCIDENT published
    status-page updates, by bulk inserts."""
    from django.db.models import Max
    from django.utils import timezone

    from deployments.models import Service
    from incidents.models import Audience, Communication, Incident, Phase

    services = list(Service.objects.all())
    first = (Incident.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    now = timezone.now()
    step = timedelta(days=5 * 365) / count
    incidents = []
    for n in range(count):
        started = now - timedelta(days=5 * 365) + n * step
        incidents.append(
            Incident(
                number=first + n,
                service=services[n % len(services)],
                title=f"Bench incident {n}",
                status=Incident.Status.RESOLVED,
                status_line="Resolved",
                started_at=started,
                resolved_at=started + timedelta(hours=2),
                impact_html="<p>Some requests failed for a while.</p>",
                public_since=started,
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=2000)
    ids = dict(Incident.objects.filter(number__gte=first).values_list("number", "pk"))
    phases = [Phase.INVESTIGATING, Phase.IDENTIFIED, Phase.RESOLVED]
    updates = [
        Communication(
            incident_id=ids[incident.number],
            audience=Audience.STATUS_PAGE,
            phase=phases[u % len(phases)],
            status=Communication.Status.SENT,
            subject=f"Update {u + 1} on bench incident {incident.number}",
            body_html="<p>We are on it; the next update follows within the hour.</p>",
            approved_at=incident.started_at + timedelta(minutes=30 * u),
            sent_at=incident.started_at + timedelta(minutes=30 * u),
        )
        for incident in incidents
        for u in range(UPDATES_PER_INCIDENT)
    ]
    Communication.objects.bulk_create(updates, batch_size=2000)


def _rendered_page() -> bytes:
    """The page as this process renders it now (its cache dropped first)."""
    from django.test import Client

    from incidents.statuspage.page import status_page_invalidate

    status_page_invalidate()
    response = Client().get("/status/")
    assert response.status_code == 200, response.status_code
    return response.content


def _start_redis(tmp: Path) -> tuple[subprocess.Popen | None, int]:
    """A private Redis for the shared cache, or None when redis-server is not installed."""
    if shutil.which("redis-server") is None:
        return None, 0
    port = _free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return server, port
        except OSError:
            time.sleep(0.1)
    server.terminate()
    return None, 0


def _flush_redis(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        sock.recv(16)


def _start_gunicorn(env: dict[str, str], port: int, tmp: Path) -> subprocess.Popen:
    workers = os.cpu_count() or 2
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "hindsight.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--error-logfile",
            str(tmp / "gunicorn.log"),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status/", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer; see {tmp / 'gunicorn.log'}")


def _ab(
    url: str, *, seconds: float, headers: tuple[str, ...] = (), expect_304: bool = False
) -> tuple[float, str]:
    """Requests per second, and a note when some answers were not the expected kind."""
    command = ["ab", "-q", "-l", "-c", str(CONCURRENCY), "-t", str(seconds), "-n", "1000000"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=False, timeout=seconds + 60
    ).stdout

    def number(label: str) -> float:
        match = re.search(rf"{label}:\s+([\d.]+)", output)
        return float(match.group(1)) if match else 0.0

    complete, failed, non_2xx = (
        number("Complete requests"),
        number("Failed requests"),
        number("Non-2xx responses"),
    )
    note = f" ({failed:.0f} failed)" if failed else ""
    # ab counts a 304 as a non-2xx answer: for repeat visitors every answer should be one.
    # (ab may count one answer more in one total than the other when -t cuts a run short.)
    unexpected = complete - non_2xx if expect_304 else non_2xx
    if unexpected > 1:
        note += f" ({unexpected:.0f} of {complete:.0f} not {'304' if expect_304 else '2xx'})"
    return number("Requests per second"), note


def _repeat_visitor_headers(url: str) -> tuple[str, ...]:
    """What a browser sends on its second visit: the ETag, and any cookie it was given."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        headers = [f"If-None-Match: {answer.headers['ETag']}"]
        if answer.headers["Set-Cookie"]:
            headers.append(f"Cookie: {answer.headers['Set-Cookie'].split(';', 1)[0]}")
    return tuple(headers)


def main() -> int:
    if shutil.which("ab") is None:
        print(
            "bench/status_page.py: ApacheBench (ab) is not installed, so the status page load "
            "benchmark is skipped. On Debian: apt-get install -y apache2-utils"
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="hindsight-bench-status-") as name:
        tmp = Path(name)
        env = _environment(tmp, 0)
        _prepare()
        redis, redis_port = _start_redis(tmp)
        if redis is None:
            print(
                "  (no redis-server: the cache is each gunicorn process's own memory; "
                "apt-get install redis-server for the shared cache)"
            )
        try:
            for size in ("demo", f"{LARGE_INCIDENTS:,} incidents over five years"):
                if size != "demo":
                    started = time.monotonic()
                    _large_history(LARGE_INCIDENTS)
                    print(f"\n(generated in {time.monotonic() - started:.1f} s)")
                    if redis is not None:
                        _flush_redis(redis_port)
                page = _rendered_page()
                (tmp / "static" / STATIC_NAME).write_bytes(page)
                print(f"\n== {size}: page of {len(page):,} bytes")
                up = f"redis://127.0.0.1:{redis_port}/0" if redis is not None else None
                _serve_and_measure(env, tmp, redis_url=up, redis_down=False)
                down = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
                _serve_and_measure(env, tmp, redis_url=down, redis_down=True)
        finally:
            if redis is not None:
                os.killpg(redis.pid, signal.SIGTERM)
                redis.wait(timeout=10)
        _measure_in_process()
    return 0


def _serve_and_measure(
    env: dict[str, str], tmp: Path, *, redis_url: str | None, redis_down: bool
) -> None:
    port = _free_port()
    env = {**env, "HINDSIGHT_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("REDIS_URL", None)
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    server = _start_gunicorn(env, port, tmp)
    try:
        _measure(port, redis_down=redis_down)
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
    page from the cache (hot), and the page built and rendered again after a write dropped the
    cache (cold). The same static file through whitenoise is the baseline."""
    from django.test import Client

    from incidents.statuspage.page import status_page_invalidate

    client = Client()  # made after the copy was written: whitenoise lists files at start

    def get(url: str) -> Callable[[], None]:
        def request() -> None:
            assert client.get(url).status_code == 200

        return request

    static = _median_ms(get(f"/static/{STATIC_NAME}"), IN_PROCESS_HOT)
    hot = _median_ms(get("/status/"), IN_PROCESS_HOT)
    cold = _median_ms(get("/status/"), IN_PROCESS_COLD, before=status_page_invalidate)
    print(
        f"In one process (Django's test client), median of {IN_PROCESS_HOT} or {IN_PROCESS_COLD}:"
    )
    print(f"  static file (whitenoise)     {static:9.2f} ms")
    for label, ms in (("/status/ hot (cached)", hot), ("/status/ cold (after a write)", cold)):
        print(f"  {label:<28} {ms:9.2f} ms   {ms / static:7.1f}x the static file")


def _ratio_line(label: str, rps: float, static_rps: float, note: str, target: float | None) -> None:
    ratio = rps / static_rps if static_rps else 0.0
    verdict = ""
    if target is not None:
        verdict = f"  {'meets' if ratio >= target else 'MISSES'} the target of {target:.2f}"
    print(f"  {label:<34} {rps:9.0f} req/s  {ratio:5.2f}x static{verdict}{note}")


def _measure(port: int, *, redis_down: bool) -> None:
    base = f"http://127.0.0.1:{port}"
    status, static = f"{base}/status/", f"{base}/static/{STATIC_NAME}"
    cache = "Redis down (cache at a closed port)" if redis_down else "cache up"
    print(
        f" {cache}: gunicorn with {os.cpu_count()} sync workers, ab -c {CONCURRENCY}, "
        f"{ROUNDS} turns of {SECONDS} s each"
    )
    for url in (static, status):
        _ab(url, seconds=1)  # warm up: imports, first render, page cache
    results: dict[str, list[float]] = {"static": [], "status": []}
    notes: dict[str, str] = {"static": "", "status": ""}
    for _ in range(ROUNDS):
        for label, url in (("static", static), ("status", status)):
            rps, note = _ab(url, seconds=SECONDS)
            results[label].append(rps)
            notes[label] += note
    static_rps = statistics.median(results["static"])
    status_rps = statistics.median(results["status"])
    print(f"  {'static file (whitenoise)':<34} {static_rps:9.0f} req/s{notes['static']}")
    if redis_down:
        _ratio_line(
            "/status/ first visits", status_rps, static_rps, notes["status"], TARGET_REDIS_DOWN
        )
        return
    _ratio_line("/status/ first visits", status_rps, static_rps, notes["status"], TARGET)
    repeat, repeat_note = _ab(
        status, seconds=SECONDS, headers=_repeat_visitor_headers(status), expect_304=True
    )
    _ratio_line("/status/ repeat visits (304)", repeat, static_rps, repeat_note, TARGET)
    zipped, zipped_note = _ab(status, seconds=SECONDS, headers=("Accept-Encoding: gzip",))
    _ratio_line("/status/ first visits, gzip", zipped, static_rps, zipped_note, None)


if __name__ == "__main__":
    sys.exit(main())
