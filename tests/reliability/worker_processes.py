"""Real Celery workers in processes of their own, for the tests that kill one mid-batch
(test_delivery_kill.py, test_delivery_worker.py).

Each worker runs a test's script (`python -c`) against this test's PostgreSQL database and Redis,
in a session of its own, so that SIGKILL to its process group takes the whole worker at once, as
a machine losing power would. Its stderr goes to `<name>.log` in the test's folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def database_url() -> str:
    """The test database as a worker process reaches it (DATABASE_URL)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class WorkerProcesses:
    """Starts, kills and stops worker processes running `script`; `env` goes to each of them,
    and so does what `environment(name)` adds for one by its name."""

    def __init__(self, tmp_path: Path, script: str, **env: str) -> None:
        self.tmp = tmp_path
        self.script = script
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def environment(self, name: str) -> dict[str, str]:
        return {}

    def start(self, name: str, **env: str) -> subprocess.Popen:
        environment = {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "hindsight.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "WORKER_NAME": f"{name}@%h",
            **self.env,
            **self.environment(name),
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-c", self.script],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "wb"),  # noqa: SIM115 (closed with the process)
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL to the worker and its children, whatever they are doing."""
        os.killpg(process.pid, signal.SIGKILL)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
            process.wait(timeout=30)
