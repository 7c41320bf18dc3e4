"""Gunicorn's configuration for Hindsight: `gunicorn -c deploy/gunicorn.conf.py`.

Every value comes from the environment (GUNICORN_*), with defaults for one small machine. With
LOG_FORMAT=json (the default when DEBUG is off) gunicorn's own lines and its access log are JSON
lines too, like the app's (core.jsonlog), each access line with the request id when the answer
carries an X-Request-ID header.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from gunicorn import glogging

ROOT = Path(__file__).resolve().parent.parent
# The formatter (core.jsonlog) is imported by logging's dictConfig before gunicorn loads the app.
sys.path.insert(0, str(ROOT))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _debug() -> bool:
    return os.environ.get("DEBUG", "true").strip().lower() in ("1", "true", "yes", "on")


wsgi_app = "hindsight.wsgi:application"
chdir = str(ROOT)
bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]
# Processes, and threads in each: a request mostly waits on PostgreSQL, and open incident pages
# poll every 2 s (HINDSIGHT_LIVE_POLL_SECONDS), so threads carry those cheaply.
workers = _env_int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9))
threads = _env_int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
# A request still running after this many seconds is killed, its worker replaced.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Workers are replaced after this many requests (with jitter, not all at once), which bounds any
# slow growth of a process's memory.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# "-" is standard output; GUNICORN_ACCESS_LOG= (empty) turns the access log off.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("text" if _debug() else "json")


class JsonAccessLogger(glogging.Logger):
    """Access lines as fields, not one Apache-style string, for core.jsonlog to write."""

    def access(self, resp: Any, req: Any, environ: dict, request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        fields: dict[str, object] = {
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "referer": atoms["f"],
            "user_agent": atoms["a"],
        }
        request_id = atoms.get("{x-request-id}o") or atoms.get("{x-request-id}i")
        if request_id:
            fields["request_id"] = request_id
        self.access_log.info(
            "%s %s %s", atoms["m"], environ.get("RAW_URI", atoms["U"]), atoms["s"], extra=fields
        )


if LOG_FORMAT == "json":
    logger_class = JsonAccessLogger
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.jsonlog.JsonLinesFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
            "gunicorn.access": {
                "level": logging.getLevelName(logging.INFO),
                "handlers": ["console"],
                "propagate": False,
            },
        },
    }
