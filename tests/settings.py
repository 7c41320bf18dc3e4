"""The app's own settings, with one Redis database number for each pytest-xdist worker.

pytest-django reads the settings before any conftest.py, so this is the one place early enough:
it points REDIS_URL at the worker's own database number, then reads hindsight.settings as every
other process does. A number of its own gives each worker its own Celery queues (a worker thread
in one process never takes another's tasks), cache and result keys. Rewriting the environment,
not only the settings, makes Celery workers started in a subprocess use the same number.

Each worker's test database is already its own: pytest-django names it test_hindsight_gw0, ...
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def worker_redis_url(url: str, worker: str) -> str:
    """gw0 gets database 1, gw1 database 2, ...; 0 stays with the process that runs no tests.

    The same answer however often it is applied, so a subprocess that reads these settings
    again with the rewritten URL keeps the number.
    """
    number = int(worker.removeprefix("gw")) + 1
    return urlunsplit(urlsplit(url)._replace(path=f"/{number}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _worker)

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from hindsight.settings import *  # noqa: E402, F403

# Attachments never land in the project's own media folder, whatever a test uploads; tests that
# look at the files point MEDIA_ROOT at their own tmp_path on top of this.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="hindsight-test-media-"))
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}  # noqa: F405
