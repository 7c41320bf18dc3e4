"""A small Hindsight on 127.0.0.1 for the CI client's tests: the issue 16 contract, in memory.

It answers what hindsight-ci calls: deployments (record, look up, status, verify), maintenance
windows and changes, with the contract's rules (same external id answers the first one, asking
for the status it has changes nothing, Idempotency-Key replays). Two handles for tests:

    fake.inject("POST", "/api/v1/deployments", Reply(503), Reply(429, headers={...}))
        answers those, in order, before the real handling (faults the client must retry)
    fake.health_script[deployment_id] = ["unknown", "healthy"]
        what each verify finds, in order; the last one stays

fake.requests lists every request received (method, path with query, headers, JSON body).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROBLEM = "urn:hindsight:problem:"
TRANSITIONS = {
    "pending": {"in_progress", "succeeded", "failed"},
    "in_progress": {"succeeded", "failed"},
    "succeeded": {"rolled_back"},
    "failed": {"rolled_back"},
    "rolled_back": set(),
}
FINISHED = {"succeeded", "failed", "rolled_back"}


@dataclass
class Reply:
    status: int
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def route(self) -> str:
        return self.path.split("?")[0]


def in_use() -> Reply:
    return Reply(409, problem(409, "idempotency-key-in-use", "The first request is still running."))


def problem(status: int, kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": PROBLEM + kind, "title": detail, "status": status, "detail": detail, **extra}


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeHindsight:
    def __init__(self, token: str = "hst_fake", port: int = 0) -> None:
        self.token = token
        self.environments: set[tuple[str, str]] = set()
        self.deployments: list[dict[str, Any]] = []
        self.windows: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.health_script: dict[int, list[str]] = {}
        self.verify_enabled = True
        self.requests: list[Seen] = []
        self._injected: dict[tuple[str, str], list[Reply]] = {}
        self._keys: dict[str, tuple[str, Reply]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_environment(self, service: str, environment: str) -> None:
        self.environments.add((service, environment))

    def add_deployment(self, **fields: Any) -> dict[str, Any]:
        row = self._deployment_row(
            {"service": "moodmash", "environment": "production", "commit_sha": "e4f5a6b", **fields}
        )
        self.deployments.append(row)
        return row

    def inject(self, method: str, path: str, *replies: Reply) -> None:
        self._injected.setdefault((method, path), []).extend(replies)

    def seen(self, method: str, route: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.route == route]

    # --- the contract -----------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, problem(401, "not-authenticated", "Authentication is required."))
        injected = self._injected.get((method, path))
        if injected:
            return injected.pop(0)
        key = headers.get("idempotency-key")
        digest = hashlib.sha256(json.dumps([path, body], sort_keys=True).encode()).hexdigest()
        if method == "POST" and key is not None and key in self._keys:
            first_digest, reply = self._keys[key]
            if first_digest != digest:
                return Reply(422, problem(422, "idempotency-key-reused", "Another request."))
            return Reply(reply.status, reply.body, {**reply.headers, "Idempotent-Replayed": "true"})
        reply = self._route(method, path, body)
        if method == "POST" and key is not None and reply.status < 500:
            self._keys[key] = (digest, reply)
        return reply

    def _route(self, method: str, path: str, body: Any) -> Reply:
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = parts.path.removeprefix("/api/v1/").split("/")
        match (method, segments):
            case ("POST", ["deployments"]):
                return self._record(body)
            case ("GET", ["deployments"]):
                return self._list(
                    self.deployments, query, ("service", "environment", "external_id")
                )
            case ("GET", ["deployments", ident]):
                found = self._deployment(ident)
                return Reply(200, found) if found else self._not_found()
            case ("POST", ["deployments", ident, "status"]):
                return self._set_status(ident, body)
            case ("POST", ["deployments", ident, "verify"]) if self.verify_enabled:
                return self._verify(ident)
            case ("POST", ["maintenance-windows"]):
                return self._window_start(body)
            case ("GET", ["maintenance-windows"]):
                return self._list(
                    self.windows, query, ("service", "environment", "external_id", "open")
                )
            case ("POST", ["maintenance-windows", ident, "end"]):
                return self._window_end(ident)
            case ("POST", ["changes"]):
                return self._change(body)
        return self._not_found()

    def _not_found(self) -> Reply:
        return Reply(404, problem(404, "not-found", "Not found."))

    def _list(self, table: list[dict[str, Any]], query: dict[str, str], keys: tuple) -> Reply:
        def matches(row: dict[str, Any]) -> bool:
            for name in keys:
                if name in query:
                    value = row.get(name)
                    wanted: Any = query[name] == "true" if name == "open" else query[name]
                    if value != wanted:
                        return False
            return True

        found = [row for row in table if matches(row)]
        return Reply(200, {"count": len(found), "next": None, "previous": None, "results": found})

    def _deployment_row(self, body: dict[str, Any]) -> dict[str, Any]:
        status = body.get("status", "pending")
        return {
            "id": len(self.deployments) + 1,
            "service": body["service"],
            "environment": body["environment"],
            "external_id": body.get("external_id", f"deploy-{len(self.deployments) + 1}"),
            "commit_sha": str(body.get("commit_sha", "")).lower(),
            "branch": body.get("branch", ""),
            "status": status,
            "deployed_by": body.get("deployed_by", ""),
            "started_at": body.get("started_at") or now(),
            "finished_at": body.get("finished_at") or (now() if status in FINISHED else None),
            "rollback_of": body.get("rollback_of"),
            "health": "unknown",
            "health_checked_at": None,
        }

    def _record(self, body: dict[str, Any]) -> Reply:
        if (body.get("service"), body.get("environment")) not in self.environments:
            return Reply(404, problem(404, "unknown-environment", "No such environment."))
        for row in self.deployments:
            if (row["service"], row["environment"], row["external_id"]) == (
                body["service"],
                body["environment"],
                body["external_id"],
            ):
                return Reply(200, row)
        row = self._deployment_row(body)
        self.deployments.append(row)
        return Reply(201, row, {"Location": f"/api/v1/deployments/{row['id']}"})

    def _deployment(self, ident: str) -> dict[str, Any] | None:
        return next((row for row in self.deployments if str(row["id"]) == ident), None)

    def _set_status(self, ident: str, body: dict[str, Any]) -> Reply:
        row = self._deployment(ident)
        if row is None:
            return self._not_found()
        wanted = body.get("status")
        if wanted == row["status"]:
            return Reply(200, row)
        allowed = sorted(TRANSITIONS[row["status"]])
        if wanted not in allowed:
            detail = f"A deployment that is {row['status']} cannot become {wanted}."
            return Reply(
                409,
                problem(
                    409,
                    "status-transition-not-allowed",
                    detail,
                    current=row["status"],
                    requested=wanted,
                    allowed=allowed,
                ),
            )
        row["status"] = wanted
        if wanted in FINISHED:
            row["finished_at"] = body.get("finished_at") or now()
        return Reply(200, row)

    def _verify(self, ident: str) -> Reply:
        row = self._deployment(ident)
        if row is None:
            return self._not_found()
        script = self.health_script.get(row["id"])
        if script:
            row["health"] = script.pop(0) if len(script) > 1 else script[0]
            row["health_checked_at"] = now()
        return Reply(200, row)

    def _window_start(self, body: dict[str, Any]) -> Reply:
        service = body.get("service")
        if not any(s == service for s, _ in self.environments):
            return Reply(404, problem(404, "unknown-service", "No such service."))
        if body.get("external_id"):
            for window in self.windows:
                if window["open"] and (window["service"], window["external_id"]) == (
                    service,
                    body["external_id"],
                ):
                    return Reply(200, window)
        starts = datetime.now(UTC)
        window = {
            "id": len(self.windows) + 1,
            "service": service,
            "environment": body.get("environment"),
            "reason": body.get("reason", ""),
            "external_id": body.get("external_id", ""),
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=body.get("minutes", 60))).isoformat(),
            "ended_at": None,
            "open": True,
        }
        self.windows.append(window)
        return Reply(201, window)

    def _window_end(self, ident: str) -> Reply:
        window = next((w for w in self.windows if str(w["id"]) == ident), None)
        if window is None:
            return self._not_found()
        if window["open"]:
            window.update(open=False, ended_at=now())
        return Reply(200, window)

    def _change(self, body: dict[str, Any]) -> Reply:
        if body.get("kind") not in ("config", "feature_flag", "infrastructure", "other"):
            return Reply(400, problem(400, "validation-error", "Invalid.", errors={"kind": ["?"]}))
        if body.get("external_id"):
            for change in self.changes:
                if (change["service"], change["external_id"]) == (
                    body["service"],
                    body["external_id"],
                ):
                    return Reply(200, change)
        change = {
            "id": len(self.changes) + 1,
            "service": body["service"],
            "environment": body.get("environment"),
            "kind": body["kind"],
            "summary": body["summary"],
            "link": body.get("link", ""),
            "at": body.get("at") or now(),
            "by": body.get("by", ""),
            "external_id": body.get("external_id", ""),
        }
        self.changes.append(change)
        return Reply(201, change)

    # --- HTTP -------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests read fake.requests instead

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append(Seen(self.command, self.path, headers, body))
                    reply = fake.answer(self.command, self.path, body, headers)
                data = (
                    reply.body.encode()
                    if isinstance(reply.body, str)
                    else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                content_type = "text/html" if isinstance(reply.body, str) else "application/json"
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        return Handler


@contextmanager
def fake_hindsight() -> Iterator[FakeHindsight]:
    fake = FakeHindsight()
    try:
        yield fake
    finally:
        fake.close()
