"""The CI client's tests run it as CI does: a subprocess, the file alone, no site-packages.

fake        a FakeHindsight (fake.py) with moodmash/production, for retries, faults and the
            endpoints the issue 16 contract adds
hindsight   a Target: the fake, and the real live server as soon as this tree has the
            endpoint a test needs (until then that case skips, saying so)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.tokens import token_create
from tests.deployments.ci.fake import FakeHindsight, fake_hindsight
from tests.factories import EnvironmentFactory, user_with_role

ROOT = Path(__file__).resolve().parents[3]
CLIENT = ROOT / "deployments" / "ci" / "hindsight_ci.py"
# Starting a deployment, as most tests do.
RECORD = (
    "record",
    "--service",
    "moodmash",
    "--environment",
    "production",
    "--external-id",
    "pages-7f3c",
    "--commit",
    "e4f5a6b",
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def answers(self) -> list[Any]:
        """--json: one JSON document a line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def __str__(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_client(
    *args: str,
    token: str | None = None,
    url: str | None = None,
    script: Path | str = CLIENT,
    cwd: Path | str | None = None,
    python: str = sys.executable,
    timeout: float = 120,
) -> Run:
    """`python -S script args`: -S leaves site-packages out, so only the standard library is
    there; not -I, which would hide the script's own folder from sys.path and with it any
    module there that shadows the standard library."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C"}
    if token is not None:
        env["HINDSIGHT_TOKEN"] = token
    if url is not None:
        env["HINDSIGHT_URL"] = url
    started = time.monotonic()
    done = subprocess.run(
        [python, "-S", str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr + run.stdout, str(run)


@pytest.fixture
def fake() -> Iterator[FakeHindsight]:
    with fake_hindsight() as server:
        server.add_environment("moodmash", "production")
        yield server


@dataclass
class Target:
    """Where a contract test sends the client, and what it needs to know about it."""

    kind: str  # "fake" or "live"
    url: str
    token: str
    fake: FakeHindsight | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, *args: str) -> Run:
        return run_client(*args, "--deadline", "20", token=self.token, url=self.url)

    def require(self, path: str) -> None:
        """Skip the live case while this tree's server does not have the endpoint."""
        if self.kind != "live":
            return
        # OPTIONS: answered by any route that exists, whatever its methods and ids.
        request = urllib.request.Request(
            self.url + "/api/v1" + path,
            method="OPTIONS",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=20):
                return
        except urllib.error.HTTPError as answer:
            if answer.code == 404:
                pytest.skip(f"the server side of issue 16 ({path}) is not in this tree yet")


@pytest.fixture(
    params=["fake", pytest.param("live", marks=pytest.mark.django_db(transaction=True))]
)
def hindsight(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The contract, twice: against the fake, and against the real server (live_server, with
    moodmash/production and an admin's write token)."""
    if request.param == "fake":
        with fake_hindsight() as server:
            server.add_environment("moodmash", "production")
            yield Target("fake", server.url, server.token, fake=server)
        return
    live_server = request.getfixturevalue("live_server")
    environment = EnvironmentFactory(service__slug="moodmash", name="production")
    admin = user_with_role("admin", username="ci-bot")
    token = token_create(user=admin, name="CI", scope="write")[1]
    yield Target("live", live_server.url, token, extra={"environment": environment})
