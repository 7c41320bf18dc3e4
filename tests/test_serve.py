"""`make serve` for real: gunicorn, a Celery worker and beat from scripts/serve.sh, with the
production settings, answering over HTTP behind a (pretend) TLS proxy, and stopping together."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from tests.brokers import refused_port

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parent.parent
# A Redis database number no test worker uses (tests/settings.py gives them 1 to 8).
SERVE_REDIS_DB = 15


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as answer:
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def wait_for(url: str, deadline: float, **headers: str) -> None:
    while time.monotonic() < deadline:
        try:
            get(url, **headers)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered at {url}")


def test_make_serve_runs_web_worker_and_beat_with_production_settings(tmp_path) -> None:
    port = refused_port()
    redis_url = urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{SERVE_REDIS_DB}"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEBUG", "PYTEST_"))
    }
    env.update(
        HINDSIGHT_ENV_FILE=str(tmp_path / "none.env"),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        BEHIND_TLS_PROXY="true",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
        CELERY_CONCURRENCY="1",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/status/", time.monotonic() + 180)

        # Plain HTTP is sent to HTTPS; what the proxy marks as HTTPS is answered, with HSTS.
        status, headers = get(f"{base}/login/")
        assert status == 301
        assert headers["Location"] == f"https://127.0.0.1:{port}/login/"
        status, headers = get(f"{base}/login/", **{"X-Forwarded-Proto": "https"})
        assert status == 200
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "object-src 'none'" in headers["Content-Security-Policy"]

        # Beat sends its first periodic tasks at once, and the worker runs them.
        deadline = time.monotonic() + 60
        lines: list[dict] = []
        while time.monotonic() < deadline:
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            if any("succeeded" in x["message"] for x in lines):
                break
            time.sleep(1)
        loggers = {x["logger"] for x in lines}
        assert {"gunicorn.access", "gunicorn.error", "celery.beat"} <= loggers, loggers
        assert any("succeeded" in x["message"] for x in lines), log.read_text()[-3000:]
        access = [x for x in lines if x["logger"] == "gunicorn.access"]
        assert {"path": "/login/", "status": 200} in [
            {"path": x["path"], "status": x["status"]} for x in access
        ]
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=90)
        finally:
            redis.Redis.from_url(redis_url).flushdb()
            try:
                os.killpg(serve.pid, signal.SIGKILL)  # anything left over: the test fails below
                leftover = True
            except ProcessLookupError:
                leftover = False
    assert serve.returncode == 0, log.read_text()[-3000:]
    assert not leftover, "a process of make serve outlived it"
