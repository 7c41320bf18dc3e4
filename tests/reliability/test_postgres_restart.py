"""PostgreSQL restarted under a serving gunicorn: the next request works.

gunicorn (one sync worker, so every request reuses the one persistent connection, CONN_MAX_AGE)
answers /readyz, whose database check runs a query. The test's own PostgreSQL server
(private_postgres.py: restarting the suite's shared one would break the other workers) is
restarted, which ends that connection. With CONN_HEALTH_CHECKS, as production has it, Django
finds the connection dead before using it and opens a new one, so the very next request works;
without them, that request fails, which shows this test would notice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.reliability.private_postgres import PrivatePostgres, pg_bin

pytestmark = [
    # Starts server processes: one at a time with the group that needs quiet.
    pytest.mark.xdist_group("one-at-a-time"),
]

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    binaries = pg_bin()
    if binaries is None:
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    server = PrivatePostgres(binaries)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def readiness(base: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def gunicorn(tmp_path: Path, postgres: PrivatePostgres, request) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "hindsight.settings",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": "only-for-this-test-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": postgres.url,
        "CONN_MAX_AGE": "600",
        "CONN_HEALTH_CHECKS": request.param,
    }
    command = [sys.executable, "-m", "gunicorn", "hindsight.wsgi", "--workers", "1"]
    command += ["--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    command += ["--error-logfile", str(tmp_path / "error.log")]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer: " + (tmp_path / "error.log").read_text())
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGINT)  # gunicorn's quick shutdown
        process.wait(timeout=30)


def database_ok(base: str) -> bool:
    _status, answer = readiness(base)
    return answer["checks"]["database"]["ok"]


@pytest.mark.parametrize("gunicorn", ["true"], indirect=True)
def test_after_postgres_restarts_the_next_request_works(gunicorn, postgres):
    assert database_ok(gunicorn)
    postgres.restart()
    assert database_ok(gunicorn)


@pytest.mark.parametrize("gunicorn", ["false"], indirect=True)
def test_without_health_checks_the_request_after_a_restart_fails(gunicorn, postgres):
    # The control: the request above really reused a connection the restart had ended.
    assert database_ok(gunicorn)
    postgres.restart()
    assert not database_ok(gunicorn)
    assert database_ok(gunicorn)  # Django dropped the broken connection after that request
