"""Two gunicorn workers share one rate limit: the limit is for a client, not for each process.

A real gunicorn with two worker processes serves the API against the suite's PostgreSQL, and
counts in the suite's Redis or, without Redis, in the database. Thirty requests of one client
go out six at a time; exactly the limit's worth get through, and the access log shows both
workers answered. Counted per process, each worker would have let the limit through.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from api.tokens import token_create
from tests.factories import user_with_role

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # Starts server processes: one at a time with the group that needs quiet.
    pytest.mark.xdist_group("one-at-a-time"),
]

ROOT = Path(settings.BASE_DIR)
LIMIT = 10
REQUESTS = 30


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "access.log"
        self.errors = tmp_path / "error.log"
        self.process: subprocess.Popen | None = None
        self.base = ""

    def start(self, *, redis: bool, **env: str) -> None:
        port = free_port()
        environment = {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DEBUG": "false",
            # Plain HTTP on 127.0.0.1: no redirect to HTTPS, which production settings turn on.
            "SECURE_SSL_REDIRECT": "false",
            "SECRET_KEY": "only-for-this-test-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(),
            **({"REDIS_URL": settings.REDIS_URL} if redis else {}),
            **env,
        }
        command = [sys.executable, "-m", "gunicorn", "hindsight.wsgi", "--workers", "2"]
        command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", str(self.log)]
        command += ["--access-logformat", "%(p)s %(s)s", "--error-logfile", str(self.errors)]
        # Not the control socket in the home folder, which another server may hold.
        command += ["--no-control-socket"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/api/v1/", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # an answer (404): the server is up
            except OSError:
                time.sleep(0.2)
        pytest.fail("gunicorn did not answer: " + self.errors.read_text()[-2000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def get(self, path: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def workers_that_answered(self) -> set[str]:
        # The server writes the access log as it answers; give it a moment to flush.
        time.sleep(0.5)
        return {line.split()[0] for line in self.log.read_text().splitlines() if line.strip()}


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path)
    yield server
    server.stop()


def burst(send: Callable[[], int]) -> Counter[int]:
    """REQUESTS requests, six at a time, inside one window of the limit."""
    if 60 - time.time() % 60 < 5:  # a minute's window is about to end: start in the next one
        time.sleep(60 - time.time() % 60 + 0.1)
    with ThreadPoolExecutor(max_workers=6) as pool:
        return Counter(pool.map(lambda _: send(), range(REQUESTS)))


WHERE = [
    pytest.param(True, marks=pytest.mark.redis, id="in-redis"),
    pytest.param(False, id="in-the-database-without-redis"),
]


@pytest.mark.parametrize("redis", WHERE)
def test_two_workers_let_one_address_through_exactly_the_limit(gunicorn, redis):
    # A fresh address of its own (documentation range) for each run, passed as the trusted
    # proxy's X-Forwarded-For, so no count from another run or test is shared.
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"
    gunicorn.start(redis=redis, API_THROTTLE_ANON=f"{LIMIT}/min", HINDSIGHT_TRUSTED_PROXIES="1")
    codes = burst(lambda: gunicorn.get("/api/v1/incidents", {"X-Forwarded-For": address}))
    assert codes == {401: LIMIT, 429: REQUESTS - LIMIT}
    assert len(gunicorn.workers_that_answered()) == 2


@pytest.mark.parametrize("redis", WHERE)
def test_two_workers_let_one_token_through_exactly_the_limit(gunicorn, redis):
    _token, raw = token_create(user=user_with_role("editor"), name="two workers")
    gunicorn.start(redis=redis, API_THROTTLE_TOKENS=f"{LIMIT}/min")
    codes = burst(lambda: gunicorn.get("/api/v1/tokens", {"Authorization": f"Bearer {raw}"}))
    assert codes == {200: LIMIT, 429: REQUESTS - LIMIT}
    assert len(gunicorn.workers_that_answered()) == 2
