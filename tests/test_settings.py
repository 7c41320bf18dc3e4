"""Settings come from the environment: each case boots Django in a clean subprocess."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SHOW_SETTINGS = """
import json
import django

django.setup()
from django.conf import settings
from hindsight.celery import app

print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "conn_health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "app_eager": app.conf.task_always_eager,
    "broker_url": settings.CELERY_BROKER_URL,
    "app_broker_url": app.conf.broker_url,
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "cache_options": settings.CACHES["default"].get("OPTIONS", {}),
    "transport_options": app.conf.broker_transport_options,
    "connection_timeout": app.conf.broker_connection_timeout,
    "redis_socket_timeout": app.conf.redis_socket_timeout,
    "redis_socket_connect_timeout": app.conf.redis_socket_connect_timeout,
}))
"""


def run_python(code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter whose environment holds only PATH, the settings module
    and `env`, so nothing from this shell (DATABASE_URL, REDIS_URL, ...) leaks in."""
    clean = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "hindsight.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def show_settings(**env: str) -> dict:
    result = run_python(SHOW_SETTINGS, timeout=60, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_empty_environment_boots_on_sqlite_with_eager_tasks() -> None:
    result = run_python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER)"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]


def test_debug_off_without_secret_key_refuses_to_boot() -> None:
    result = run_python("import django; django.setup()", DEBUG="false")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_database_url_switches_to_postgresql() -> None:
    shown = show_settings(DATABASE_URL="postgres://someone:secret@127.0.0.1:1/hindsight")

    assert shown["engine"] == "django.db.backends.postgresql"


def test_database_connections_are_kept_a_minute_and_checked_before_reuse_by_default() -> None:
    shown = show_settings(DATABASE_URL="postgres://hindsight@db.example.test:5432/hindsight")
    assert (shown["conn_max_age"], shown["conn_health_checks"]) == (60, True)


@pytest.mark.parametrize("database_url", ["", "postgres://hindsight@db.example.test:5432/hs"])
def test_how_long_connections_are_kept_and_their_checks_come_from_the_environment(
    database_url: str,
) -> None:
    env = {"DATABASE_URL": database_url} if database_url else {}
    shown = show_settings(CONN_MAX_AGE="0", CONN_HEALTH_CHECKS="false", **env)
    assert (shown["conn_max_age"], shown["conn_health_checks"]) == (0, False)
    shown = show_settings(CONN_MAX_AGE="300", CONN_HEALTH_CHECKS="true", **env)
    assert (shown["conn_max_age"], shown["conn_health_checks"]) == (300, True)


def test_redis_url_feeds_broker_and_cache_and_turns_eager_off() -> None:
    url = "redis://127.0.0.1:1/3"

    shown = show_settings(REDIS_URL=url)

    assert shown["broker_url"] == shown["app_broker_url"] == url
    assert shown["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["eager"] is False
    assert shown["app_eager"] is False
    options = shown["transport_options"]
    assert 0 < options["socket_timeout"] <= 5
    assert 0 < options["socket_connect_timeout"] <= 5
    assert 0 < shown["connection_timeout"] <= 5
    assert 0 < shown["redis_socket_timeout"] <= 5
    assert 0 < shown["redis_socket_connect_timeout"] <= 5


def test_the_cache_gives_up_sooner_than_the_broker_and_its_timeout_can_be_set() -> None:
    # Every public status page asks the cache first: a wedged Redis costs each one this long.
    shown = show_settings(REDIS_URL="redis://127.0.0.1:1/3")
    assert shown["cache_options"] == {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
    assert shown["transport_options"]["socket_timeout"] > 0.25

    shown = show_settings(REDIS_URL="redis://127.0.0.1:1/3", REDIS_CACHE_SOCKET_TIMEOUT="0.1")
    assert shown["cache_options"] == {"socket_timeout": 0.1, "socket_connect_timeout": 0.1}


def test_links_point_at_the_configured_public_url_and_an_empty_one_is_unset() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.HINDSIGHT_BASE_URL)"
    )
    configured = run_python(code, HINDSIGHT_BASE_URL="https://status.example.test/")
    assert configured.stdout.strip() == "https://status.example.test"
    # Empty would make every link in mail and feeds relative, which no mail client follows.
    assert run_python(code, HINDSIGHT_BASE_URL="").stdout.strip() == "http://127.0.0.1:8000"


def make_dry_run(*args: str, **env: str) -> str:
    """What `make` would run, with an environment holding only PATH and `env`."""
    result = subprocess.run(
        ["make", "--dry-run", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_on_another_port_links_to_that_port() -> None:
    def serving(output: str) -> str:
        return next(line for line in output.splitlines() if "runserver" in line)

    line = serving(make_dry_run("run", "PORT=8101"))
    assert line.endswith("runserver 127.0.0.1:8101")
    assert "HINDSIGHT_BASE_URL='http://127.0.0.1:8101'" in line
    # A configured public URL wins, from the environment or the command line.
    line = serving(make_dry_run("run", "PORT=8101", HINDSIGHT_BASE_URL="https://status.test"))
    assert "HINDSIGHT_BASE_URL='https://status.test'" in line
    worker = make_dry_run("worker", "PORT=8101", REDIS_URL="redis://127.0.0.1:1/0")
    assert "HINDSIGHT_BASE_URL='http://127.0.0.1:8101'" in worker


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections (the kernel completes the handshake) but whose
    server never reads or answers: a wedged Redis."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


PUBLISH = """
import time
import django

django.setup()
from incidents.postmortem.tasks import incident_rerender_markdown

started = time.monotonic()
try:
    incident_rerender_markdown.apply_async(args=[1])
    outcome = "returned"
except Exception as exc:
    outcome = f"raised {type(exc).__name__}: {exc}"
print(f"{time.monotonic() - started:.2f}s {outcome}")
"""


# Timed: one at a time with the group that needs quiet (tests/conftest.py).
@pytest.mark.xdist_group("one-at-a-time")
def test_publishing_to_a_redis_that_never_answers_gives_up_quickly(silent_server: int) -> None:
    started = time.monotonic()
    try:
        result = run_python(PUBLISH, timeout=20, REDIS_URL=f"redis://127.0.0.1:{silent_server}/0")
    except subprocess.TimeoutExpired:
        # Celery's result backend subscribes to the task's result channel before publishing and
        # retries that 20 times by default: about a minute per call with 2 s socket timeouts.
        pytest.fail("apply_async() against a silent Redis was still blocked after 20 s")
    elapsed = time.monotonic() - started

    assert elapsed < 15, f"apply_async() took {elapsed:.1f} s: {result.stdout}{result.stderr}"
