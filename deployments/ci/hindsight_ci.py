#!/usr/bin/env python3
"""hindsight-ci: what a CI pipeline tells Hindsight, and asks it, around a deployment.

One file, Python 3.9+ standard library only. It is installed with the project as the console
script `hindsight-ci`; a CI job that does not install Hindsight copies this file and runs it with
any Python 3.9 or later, from any directory.

    export HINDSIGHT_URL=https://hindsight.example.com HINDSIGHT_TOKEN=hst_...
    hindsight-ci gate --service moodmash --environment production --commit "$SHA" dist/
    hindsight-ci record --service moodmash --environment production --commit "$SHA" \\
        --external-id "$DEPLOY_ID" dist/
    hindsight-ci maintenance start --service moodmash --environment production \\
        --external-id "$DEPLOY_ID" --reason "Deploying $SHA" --minutes 30
    ... deploy ...
    hindsight-ci finish --service moodmash --environment production --external-id "$DEPLOY_ID" \\
        --status succeeded
    hindsight-ci wait-healthy --service moodmash --environment production \\
        --external-id "$DEPLOY_ID" --timeout 300
    hindsight-ci maintenance end --service moodmash --external-id "$DEPLOY_ID"
    hindsight-ci change --service moodmash --kind feature_flag --summary "new-feed on for 10%"

The token: a `deployments` token reaches every command here (asking the gate; recording,
finding, finishing and verifying deployments; maintenance windows; changes), and a `gate` token
is enough for `gate` alone. Make it for a service account with the admin role, on Hindsight's
Service accounts page, rather than for a person.

Exit codes: 0 pass (the gate passes; recorded, finished or ended; healthy), 1 blocked (the gate
blocks; the deployment is not healthy by --timeout), 2 any error (usage, the network
after retries, an answer the command did not expect). Never a traceback.

The old single-command form still works and means `gate`:
`hindsight-ci --url URL --service S --environment E --commit C [--record --external-id ID] dist/`.

Retries: connection errors, 429 (after its Retry-After), 5xx, and 409 "the first request with
this Idempotency-Key is still running" are tried again with exponential backoff and jitter until
--deadline seconds have passed since the request was first sent; every retry is one line on
stderr. Other 4xx answers are final.

Every POST carries an Idempotency-Key, a digest of its method, path and body and of the second
the run started. A retry replays the first answer; another request (another status for the
same deployment, another time) is another key; identical runs started in the same second, as
when a CI step is launched twice, share one request. A later run is a new request, and the
server's own rules make it harmless: the same external id answers the first deployment, window
or change, and asking for the status a deployment has changes nothing. (A key that outlived the
run would replay stale answers: tomorrow's `maintenance start --service S` would answer today's
window, long ended, and open none.)

Why this file lives alone in deployments/ci/: `python path/to/hindsight_ci.py` puts the file's
own folder first on sys.path, so any module beside it named like a standard-library one (as
deployments/selectors.py is) would replace that module for the client and break it. Keep nothing
in this folder but this file and __init__.py.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

PROG = "hindsight-ci"
VERSION = "2.0"
PASS, BLOCK, ERROR = 0, 1, 2
API = "/api/v1"
CHUNK = 1024 * 1024

DEFAULT_DEADLINE = 60.0  # seconds for one request, its retries included
DEFAULT_REQUEST_TIMEOUT = 30.0  # seconds for one attempt
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0

RECORD_STATUSES = ("pending", "in_progress", "succeeded", "failed")
FINISH_STATUSES = ("succeeded", "failed", "rolled_back")
FINISHED = frozenset(FINISH_STATUSES)
CHANGE_KINDS = ("config", "feature_flag", "infrastructure", "other")
# api/idempotency.py: the problem type of "the first request with this key is still running".
KEY_IN_USE = "idempotency-key-in-use"

COMMANDS = ("gate", "record", "finish", "wait-healthy", "maintenance", "change")
# Options every command takes, also before the command's name; those that take a value.
GLOBAL_VALUE_OPTIONS = ("--url", "--token", "--deadline", "--request-timeout")


class ClientError(Exception):
    """Anything that ends the run with exit 2: usage, the network, an unexpected answer."""


class Unreachable(Exception):
    """One attempt got no HTTP answer (refused, reset, timed out, DNS): worth another try."""


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any  # the parsed JSON, or None when the body was not JSON
    headers: Mapping[str, str]  # names in lowercase: proxies speaking HTTP/2 send them so
    text: str  # the start of the raw body, for messages

    @property
    def body(self) -> dict[str, Any]:
        return self.data if isinstance(self.data, dict) else {}

    @property
    def problem_type(self) -> str:
        """The last part of a problem+json `type`, e.g. idempotency-key-in-use."""
        return str(self.body.get("type") or "").rsplit(":", 1)[-1]


# --- HTTP -----------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it is: following it would turn a POST into a GET and could send
    the token to another host. The message tells which URL to use instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def idempotency_key(method: str, path: str, body: Any, salt: str = "") -> str:
    canonical = json.dumps([method, path, body, salt], sort_keys=True, separators=(",", ":"))
    return "hindsight-ci-" + hashlib.sha256(canonical.encode()).hexdigest()[:48]


def backoff(attempt: int) -> float:
    """Exponential with jitter: the ceiling doubles per attempt, the wait is half to all of it,
    so that many CI jobs retrying together spread out."""
    ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):  # 3.9 raises TypeError on garbage
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def retry_reason(answer: Answer) -> str | None:
    """Why this answer is worth another try, or None when it is final."""
    if answer.status == 429:
        return "429 too many requests"
    if answer.status == 409 and answer.problem_type == KEY_IN_USE:
        return "409 the first request with this Idempotency-Key is still running"
    if answer.status >= 500:
        return f"{answer.status} {answer.body.get('title') or 'server error'}"
    return None


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__


class Client:
    def __init__(
        self,
        base: str,
        token: str,
        *,
        deadline: float = DEFAULT_DEADLINE,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        log: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        started: str | None = None,
    ):
        self.base = base.rstrip("/")
        # When this run started, UTC to the second: part of every Idempotency-Key.
        self.started = started or now_utc()
        self.token = token
        self.deadline = deadline
        self.request_timeout = request_timeout
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.sleep = sleep
        self.clock = clock

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Answer:
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self.send("GET", path)

    def post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> Answer:
        key = idempotency_key("POST", path, body, self.started) if idempotent else None
        return self.send("POST", path, body, key=key)

    def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, key: str | None = None
    ) -> Answer:
        url = self.base + API + path
        data = None if body is None else json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": f"{PROG}/{VERSION}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        first = self.clock()
        attempt = 0
        while True:
            attempt += 1
            remaining = first + self.deadline - self.clock()
            wait: float | None = None
            try:
                answer = self._once(
                    method, url, data, headers, max(1.0, min(self.request_timeout, remaining))
                )
            except Unreachable as exc:
                reason = f"Could not reach {self.base} ({exc})"
            else:
                reason_or_none = retry_reason(answer)
                if reason_or_none is None:
                    return answer
                reason = reason_or_none
                if answer.status in (429, 503):
                    wait = retry_after(answer.headers.get("retry-after"))
                    if wait is not None:
                        reason += f" (Retry-After {wait:g} s)"
            delay = wait if wait is not None else backoff(attempt)
            spent = self.clock() - first
            if spent + delay > self.deadline:
                raise ClientError(
                    f"{method} {API}{path.split('?')[0]}: {reason}; gave up after {attempt} "
                    f"attempt{'s' if attempt > 1 else ''} in {spent:.1f} s "
                    f"(--deadline {self.deadline:g} s)."
                )
            self.log(
                f"{PROG}: {method} {API}{path.split('?')[0]}: {reason}; "
                f"retry {attempt} in {delay:.1f} s"
            )
            self.sleep(delay)

    def _once(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: float
    ) -> Answer:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            try:
                with _OPENER.open(request, timeout=timeout) as response:
                    status, raw, got = response.status, response.read(), response.headers
            except urllib.error.HTTPError as error:
                status, raw, got = error.code, error.read(), error.headers
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise ClientError(f"{self.base}'s certificate was refused: {exc.reason}") from exc
            raise Unreachable(_describe(exc)) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(_describe(exc)) from exc
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = None
        text = raw[:300].decode("utf-8", "replace")
        return Answer(
            status=status, data=parsed, headers={k.lower(): v for k, v in got.items()}, text=text
        )


# --- Answers --------------------------------------------------------------------------------------


def problem_text(answer: Answer) -> str:
    text = f"Hindsight answered {answer.status}"
    if 300 <= answer.status < 400:
        where = answer.headers.get("location") or "nowhere"
        return f"{text}, a redirect to {where}: give the URL it moved to as --url."
    if answer.data is None:
        return f"{text} with a body that is not JSON: {answer.text!r}"
    body = answer.body
    text += ": " + str(body.get("detail") or body.get("title") or "no detail")
    if body.get("allowed") is not None:
        text += f" (allowed: {', '.join(map(str, body['allowed'])) or 'none'})"
    errors = body.get("errors")
    if isinstance(errors, dict):
        for field, messages in errors.items():
            text += f"\n  {field}: {json.dumps(messages)}"
    return text


def expect(answer: Answer, *statuses: int) -> dict[str, Any]:
    if answer.status not in statuses or answer.data is None:
        raise ClientError(problem_text(answer))
    return answer.body


def rows(answer: Answer) -> list[dict[str, Any]]:
    """A list answer's rows, paginated ({"results": [...]}) or not."""
    expect(answer, 200)
    data = answer.data
    found = data.get("results") if isinstance(data, dict) else data
    if not isinstance(found, list):
        raise ClientError(f"Hindsight answered a list without rows: {answer.text!r}")
    return [row for row in found if isinstance(row, dict)]


class Output:
    """Text for people, or with --json one line of JSON per answer for scripts."""

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def say(self, line: str) -> None:
        if not self.as_json:
            print(line, flush=True)

    def answer(self, data: Any) -> None:
        if self.as_json:
            print(json.dumps(data), flush=True)

    def note(self, line: str) -> None:
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)


# --- Inputs ---------------------------------------------------------------------------------------


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def moment(value: str) -> str:
    """An ISO 8601 time with its zone, given on the command line, as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-01-02T06:02:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no time zone; add Z or +HH:MM")
    return parsed.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds")
    return number


def build_manifest(folder: str) -> list[dict[str, Any]]:
    """Every file under `folder`, by relative path. Symlinked folders are not followed."""
    if not os.path.isdir(folder):
        raise ClientError(f"{folder} is not a folder.")
    manifest = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            if not os.path.isfile(full):
                continue  # a dangling link or a socket: nothing that would be uploaded
            digest = hashlib.sha256()
            with open(full, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
            relative = os.path.relpath(full, folder).replace(os.sep, "/")
            manifest.append(
                {"path": relative, "size": os.path.getsize(full), "sha256": digest.hexdigest()}
            )
    return manifest


def quoted(segment: Any) -> str:
    return urllib.parse.quote(str(segment), safe="")


# --- Commands -------------------------------------------------------------------------------------


def print_gate(answer: dict[str, Any], *, base: str, out: Output) -> None:
    verdict = str(answer.get("verdict", "?")).upper()
    out.say(
        f"Gate: {verdict} for {answer.get('service')}/{answer.get('environment')} at "
        f"{str(answer.get('commit_sha', ''))[:7]} ({answer.get('artifact_count')} files, "
        f"gate run #{answer.get('gate_run')})"
    )
    reasons = answer.get("reasons") or []
    if not reasons:
        out.say("  (no rules are enabled for this environment)")
    for reason in reasons:
        out.say(
            f"  {str(reason.get('outcome', '?')).upper():<6} {reason.get('rule')}: "
            f"{reason.get('message', '')}"
        )
        for item in (reason.get("found") or {}).get("items") or []:
            out.say(
                f"         - {item.get('reference')}: {item.get('title')} "
                f"{base.rstrip('/')}{item.get('url', '')}"
            )


def deployment_body(
    args: argparse.Namespace, manifest: list[dict[str, Any]] | None, *, now: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": args.service,
        "environment": args.environment,
        "external_id": args.external_id,
        "commit_sha": args.commit,
        "branch": args.branch,
        "status": args.status,
        "deployed_by": args.deployed_by,
        # The client's clock: the moment CI started it, not when the request got through.
        "started_at": args.started_at or now,
    }
    if args.status in FINISHED:
        body["finished_at"] = now
    if args.rollback_of:
        body["rollback_of"] = args.rollback_of
    if manifest is not None:
        body["manifest"] = manifest
    return body


def record_deployment(
    client: Client, args: argparse.Namespace, manifest: list[dict[str, Any]] | None, out: Output
) -> int:
    answer = client.post("/deployments", deployment_body(args, manifest, now=now_utc()))
    row = expect(answer, 200, 201)
    out.answer(answer.data)
    if answer.status == 201:
        out.say(
            f"Recorded: deployment #{row.get('id')} ({row.get('external_id')}), "
            f"{row.get('status')}, started {row.get('started_at')}."
        )
    else:
        out.say(
            f"Already recorded: deployment #{row.get('id')} ({row.get('external_id')}) is "
            f"{row.get('status')}; recording it again changes nothing (use finish)."
        )
    return PASS


def cmd_gate(client: Client, args: argparse.Namespace, out: Output) -> int:
    if args.record and not args.external_id:
        raise ClientError("--record needs --external-id.")
    manifest = build_manifest(args.folder)
    question = {
        "service": args.service,
        "environment": args.environment,
        "commit": args.commit,
        "manifest": manifest,
        "rollback": bool(args.rollback or args.rollback_of),
    }
    answer = client.post("/gate", question)
    if answer.status not in (200, 409) or "verdict" not in answer.body:
        raise ClientError(problem_text(answer))
    out.answer(answer.data)
    print_gate(answer.body, base=client.base, out=out)
    if answer.body["verdict"] != "pass":
        return BLOCK
    if args.record:
        return record_deployment(client, args, manifest, out)
    return PASS


def cmd_record(client: Client, args: argparse.Namespace, out: Output) -> int:
    manifest = build_manifest(args.folder) if args.folder else None
    return record_deployment(client, args, manifest, out)


def find_deployment(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    if args.id is not None:
        return expect_found(client.get(f"/deployments/{args.id}"), f"deployment #{args.id}")
    if not (args.service and args.environment and args.external_id):
        raise ClientError(
            "Name the deployment: --id, or --service, --environment and --external-id."
        )
    query = {
        "service": args.service,
        "environment": args.environment,
        "external_id": args.external_id,
    }
    found = rows(client.get("/deployments", query))
    if not found:
        raise ClientError(
            f"No deployment {args.external_id!r} in {args.service}/{args.environment}: "
            "record it first (hindsight-ci record)."
        )
    return found[0]


def expect_found(answer: Answer, what: str) -> dict[str, Any]:
    if answer.status == 404:
        raise ClientError(f"Hindsight has no {what}: {problem_text(answer)}")
    return expect(answer, 200)


def cmd_finish(client: Client, args: argparse.Namespace, out: Output) -> int:
    deployment = find_deployment(client, args)
    before = deployment.get("status")
    body: dict[str, Any] = {"status": args.status, "finished_at": args.finished_at or now_utc()}
    answer = client.post(f"/deployments/{quoted(deployment.get('id'))}/status", body)
    row = expect(answer, 200)
    out.answer(answer.data)
    name = f"Deployment #{row.get('id')} ({row.get('external_id')})"
    if before == row.get("status"):
        out.say(f"{name} was already {before}; nothing changed.")
    else:
        out.say(f"{name}: {before} -> {row.get('status')}, finished {row.get('finished_at')}.")
    return PASS


def cmd_wait_healthy(client: Client, args: argparse.Namespace, out: Output) -> int:
    deployment = find_deployment(client, args)
    ident = quoted(deployment.get("id"))
    name = f"Deployment #{deployment.get('id')} ({deployment.get('external_id')})"
    end = client.clock() + args.wait_timeout
    verify = True
    while True:
        # Every poll runs the checks anew, so it is no retry of the last one: no Idempotency-Key.
        if verify:
            answer = client.post(f"/deployments/{ident}/verify", {}, idempotent=False)
        if not verify or answer.status in (404, 405):
            if verify:
                verify = False
                out.note("this Hindsight cannot verify on request; reading the health it has.")
            answer = client.get(f"/deployments/{ident}")
        row = expect_found(answer, f"deployment #{deployment.get('id')}")
        if "health" not in row:
            raise ClientError(
                "This Hindsight does not report a deployment's health; it is older than the client."
            )
        health = row.get("health")
        if health == "healthy":
            out.answer(answer.data)
            out.say(f"{name} is healthy (checked {row.get('health_checked_at')}).")
            return PASS
        # A rollout can fail its first checks while instances warm up: unhealthy is final only
        # with --fail-fast, otherwise only the deadline ends the wait.
        if health == "unhealthy" and args.fail_fast:
            out.answer(answer.data)
            out.say(f"{name} is unhealthy (checked {row.get('health_checked_at')}).")
            return BLOCK
        left = end - client.clock()
        if left <= 0:
            out.answer(answer.data)
            out.say(
                f"{name} was still {health} after {args.wait_timeout:g} s: not healthy by the "
                "deadline (--timeout)."
            )
            return BLOCK
        pause = min(args.interval, left)
        out.note(f"{name} is {health}; next check in {pause:.0f} s ({left:.0f} s left).")
        client.sleep(pause)


def cmd_maintenance(client: Client, args: argparse.Namespace, out: Output) -> int:
    if args.action == "start":
        return maintenance_start(client, args, out)
    return maintenance_end(client, args, out)


def maintenance_start(client: Client, args: argparse.Namespace, out: Output) -> int:
    body: dict[str, Any] = {"service": args.service}
    for field in ("environment", "reason", "minutes", "external_id"):
        if getattr(args, field) is not None:
            body[field] = getattr(args, field)
    answer = client.post("/maintenance-windows", body)
    window = expect(answer, 200, 201)
    out.answer(answer.data)
    where = window.get("service")
    if window.get("environment"):
        where = f"{where}/{window.get('environment')}"
    already = "already open" if answer.status == 200 else "open"
    out.say(
        f"Maintenance window #{window.get('id')} {already} for {where} until {window.get('ends_at')}."
    )
    return PASS


def maintenance_end(client: Client, args: argparse.Namespace, out: Output) -> int:
    if args.id is not None:
        ids = [args.id]
    elif args.service and args.external_id:
        query = {"service": args.service, "external_id": args.external_id}
        if args.environment:
            query["environment"] = args.environment
        found = rows(client.get("/maintenance-windows", {**query, "open": "true"}))
        if not found:
            if not rows(client.get("/maintenance-windows", query)):
                raise ClientError(f"No maintenance window {args.external_id!r} for {args.service}.")
            out.say(f"Maintenance window {args.external_id!r} of {args.service} has ended already.")
            return PASS
        ids = [window.get("id") for window in found]
    else:
        raise ClientError("Name the window: --id, or --service and --external-id.")
    for ident in ids:
        answer = client.post(f"/maintenance-windows/{quoted(ident)}/end", {})
        if answer.status == 404:
            raise ClientError(f"Hindsight has no maintenance window #{ident}.")
        window = expect(answer, 200)
        out.answer(answer.data)
        out.say(f"Maintenance window #{window.get('id')} ended at {window.get('ended_at')}.")
    return PASS


def cmd_change(client: Client, args: argparse.Namespace, out: Output) -> int:
    body: dict[str, Any] = {
        "service": args.service,
        "kind": args.kind,
        "summary": args.summary,
        "at": args.at or now_utc(),
    }
    for field in ("environment", "link", "by", "external_id"):
        if getattr(args, field) is not None:
            body[field] = getattr(args, field)
    answer = client.post("/changes", body)
    change = expect(answer, 200, 201)
    out.answer(answer.data)
    verb = "Recorded" if answer.status == 201 else "Already recorded"
    out.say(f"{verb}: change #{change.get('id')} ({change.get('kind')}) {change.get('summary')!r}.")
    return PASS


# --- The command line -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ERROR, f"{self.prog}: error: {message}\n")


def add_connection(parser: argparse.ArgumentParser, *, old_timeout: bool = False) -> None:
    """On the main parser and on every command, so they may come before or after its name.
    SUPPRESS keeps a command's parser from overwriting what came before it with a default."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--url", default=argparse.SUPPRESS, help="Hindsight's base URL (HINDSIGHT_URL)."
    )
    group.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="An API token with the deployments scope, or gate for `gate` alone "
        "(HINDSIGHT_TOKEN; prefer the variable: arguments are visible to other processes).",
    )
    group.add_argument(
        "--deadline",
        type=seconds,
        default=argparse.SUPPRESS,
        help=f"Seconds one request may take, retries included (default {DEFAULT_DEADLINE:g}).",
    )
    group.add_argument(
        # gate keeps --timeout, the old form's name; wait-healthy's --timeout is how long to wait.
        *(("--request-timeout", "--timeout") if old_timeout else ("--request-timeout",)),
        dest="request_timeout",
        type=seconds,
        default=argparse.SUPPRESS,
        help=f"Seconds one attempt may take (default {DEFAULT_REQUEST_TIMEOUT:g}).",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="Print each answer the command ends on as one line of JSON, instead of text.",
    )


def add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", type=int, help="The deployment's id in Hindsight.")
    parser.add_argument("--service", help="The service's slug.")
    parser.add_argument("--environment", help="The environment's name.")
    parser.add_argument("--external-id", help="The provider's id for the deployment.")


def add_recording(parser: argparse._ArgumentGroup, default_status: str) -> None:
    parser.add_argument("--deployed-by", default="", help="A person or the CI job.")
    parser.add_argument("--branch", default="")
    parser.add_argument("--status", choices=RECORD_STATUSES, default=default_status)
    parser.add_argument(
        "--started-at", type=moment, help="When it started (ISO 8601 with a zone; default now)."
    )
    parser.add_argument("--rollback-of", help="External id of the deployment this one rolls back.")


def parser() -> argparse.ArgumentParser:
    main = _Parser(
        prog=PROG,
        description="Tell Hindsight about a deployment, and ask it whether one may ship. "
        "Exit 0: pass or done; 1: blocked, unhealthy or not healthy in time; 2: error.",
        epilog="Without a command, the arguments are gate's (the old single-command form).",
    )
    main.add_argument("--version", action="version", version=f"{PROG} {VERSION}")
    add_connection(main)
    commands = main.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    gate = commands.add_parser(
        "gate", help="Ask the gate about a build folder; exit 1 if it blocks."
    )
    add_connection(gate, old_timeout=True)
    gate.add_argument("folder", help="The build output folder, e.g. dist/.")
    gate.add_argument("--service", required=True, help="The service's slug.")
    gate.add_argument("--environment", required=True, help="The environment's name.")
    gate.add_argument("--commit", required=True, help="The commit the build was made from (hex).")
    gate.add_argument("--rollback", action="store_true", help="This deployment is a rollback.")
    recording = gate.add_argument_group("recording the deployment after a pass")
    recording.add_argument("--record", action="store_true", help="Record the deployment.")
    recording.add_argument("--external-id", help="The provider's id for the deployment.")
    add_recording(recording, "succeeded")

    record = commands.add_parser(
        "record", help="Record that a deployment started (status in_progress by default)."
    )
    add_connection(record)
    record.add_argument("folder", nargs="?", help="The build folder, to record its manifest.")
    record.add_argument("--service", required=True, help="The service's slug.")
    record.add_argument("--environment", required=True, help="The environment's name.")
    record.add_argument("--external-id", required=True, help="The provider's id for it.")
    record.add_argument("--commit", required=True, help="The commit it ships (hex).")
    add_recording(record.add_argument_group("the deployment"), "in_progress")

    finish = commands.add_parser("finish", help="Mark a recorded deployment finished.")
    add_connection(finish)
    add_target(finish)
    finish.add_argument("--status", required=True, choices=FINISH_STATUSES)
    finish.add_argument("--finished-at", type=moment, help="ISO 8601 with a zone; default now.")

    wait = commands.add_parser(
        "wait-healthy",
        help="Check the deployment's health until healthy (0) or --timeout (1).",
    )
    add_connection(wait)
    add_target(wait)
    wait.add_argument(
        "--timeout",
        dest="wait_timeout",
        type=seconds,
        default=300.0,
        help="Seconds to wait for healthy (default 300).",
    )
    wait.add_argument(
        "--fail-fast",
        action="store_true",
        help="Stop at the first unhealthy verdict instead of waiting for the checks to pass.",
    )
    wait.add_argument("--interval", type=seconds, default=10.0, help="Seconds between checks.")

    maintenance = commands.add_parser("maintenance", help="Open or end a maintenance window.")
    actions = maintenance.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    start = actions.add_parser("start", help="Open a window (the status page shows it).")
    add_connection(start)
    start.add_argument("--service", required=True, help="The service's slug.")
    start.add_argument("--environment", help="Only this environment.")
    start.add_argument("--reason", help="What the status page says.")
    start.add_argument("--minutes", type=int, help="How long at most (default 60, up to 1440).")
    start.add_argument("--external-id", help="Your id for it, to end it by (e.g. the deploy's).")
    end = actions.add_parser("end", help="End a window, by --id or by --service and --external-id.")
    add_connection(end)
    end.add_argument("--id", type=int, help="The window's id in Hindsight.")
    end.add_argument("--service", help="The service's slug.")
    end.add_argument("--environment", help="The environment's name.")
    end.add_argument("--external-id", help="The id given when it started.")

    change = commands.add_parser("change", help="Record a change that is not a deployment.")
    add_connection(change)
    change.add_argument("--service", required=True, help="The service's slug.")
    change.add_argument("--environment", help="The environment's name.")
    change.add_argument("--kind", required=True, choices=CHANGE_KINDS)
    change.add_argument("--summary", required=True, help="One line: what changed.")
    change.add_argument("--link", help="A URL with the details (a PR, a ticket).")
    change.add_argument("--at", type=moment, help="When (ISO 8601 with a zone; default now).")
    change.add_argument("--by", help="Who or what made it.")
    change.add_argument("--external-id", help="Your id for it: recording it again changes nothing.")
    return main


def with_command(argv: list[str]) -> list[str]:
    """The old form had no command and meant gate: `--url U --service S ... dist/`."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in COMMANDS or word in ("-h", "--help", "--version"):
            return argv
        if word in GLOBAL_VALUE_OPTIONS:
            index += 2
        elif word == "--json" or word.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS:
            index += 1
        elif word.startswith("-") or os.path.exists(word):
            return ["gate", *argv]  # gate's options, or its folder first
        else:
            return argv  # a misspelt command: argparse lists the right ones
    return argv


HANDLERS: dict[str, Callable[[Client, argparse.Namespace, Output], int]] = {
    "gate": cmd_gate,
    "record": cmd_record,
    "finish": cmd_finish,
    "wait-healthy": cmd_wait_healthy,
    "maintenance": cmd_maintenance,
    "change": cmd_change,
}


def run(argv: list[str]) -> int:
    args = parser().parse_args(with_command(argv))
    url = (getattr(args, "url", None) or os.environ.get("HINDSIGHT_URL", "")).strip()
    token = (getattr(args, "token", None) or os.environ.get("HINDSIGHT_TOKEN", "")).strip()
    if not url:
        raise ClientError("Give Hindsight's URL: --url, or set HINDSIGHT_URL.")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"{url!r} is not an http(s) URL, e.g. https://hindsight.example.com")
    if not token:
        raise ClientError("Give an API token: set HINDSIGHT_TOKEN (or --token).")
    client = Client(
        url,
        token,
        deadline=getattr(args, "deadline", DEFAULT_DEADLINE),
        request_timeout=getattr(args, "request_timeout", DEFAULT_REQUEST_TIMEOUT),
    )
    return HANDLERS[args.command](client, args, Output(getattr(args, "json", False)))


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # a CI log in ASCII must not turn a pass into a crash
            reconfigure(errors="replace")
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help and --version (0), bad usage (2)
        return PASS if exc.code in (0, None) else ERROR
    except ClientError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted.", file=sys.stderr, flush=True)
    except Exception as exc:  # the promise is exit 2 with one line, never a traceback
        print(f"{PROG}: error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    return ERROR


if __name__ == "__main__":
    sys.exit(main())
