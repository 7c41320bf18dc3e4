#!/usr/bin/env python3
"""Ask Hindsight's deployment gate about a build folder before shipping it. For CI.

One file, Python 3.9+ standard library only: a CI job can fetch it and run it with any Python.

    export HINDSIGHT_TOKEN=hst_...        # any role that can read deployments; read scope is enough
    python3 gate_client.py --url https://hindsight.example.com --service moodmash \\
        --environment production --commit "$GIT_COMMIT" dist/

It lists every file under the folder (path relative to it with / between folders, size, SHA-256),
asks POST /api/v1/gate, prints each rule's answer, and exits 0 when the gate passes, 1 when it
blocks, and 2 on a usage, network or server error. With --record --external-id ID it then records
the deployment through POST /api/v1/deployments (this needs an admin's write token); a retry with
the same arguments replays the first answer instead of recording twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

PASS, BLOCK, ERROR = 0, 1, 2
CHUNK = 1024 * 1024
STATUSES = ("pending", "in_progress", "succeeded", "failed")


class ClientError(Exception):
    """Anything that is not the gate's answer: bad usage, no network, a server-side problem."""


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


def call(
    base: str,
    path: str,
    body: dict[str, Any],
    *,
    token: str,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST JSON; returns (status, parsed body) for any HTTP answer, raises ClientError else."""
    request = urllib.request.Request(
        base.rstrip("/") + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "hindsight-gate-client/1",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as answer:
        status, raw = answer.code, answer.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ClientError(f"Could not reach {base}: {getattr(exc, 'reason', exc)}") from exc
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ClientError(f"{path} answered {status} with a body that is not JSON.") from exc
    return status, parsed if isinstance(parsed, dict) else {"body": parsed}


def problem_text(status: int, body: dict[str, Any]) -> str:
    text = f"Hindsight answered {status}: {body.get('detail') or body.get('title') or 'no detail'}"
    for field, messages in (body.get("errors") or {}).items():
        text += f"\n  {field}: {json.dumps(messages)}"
    return text


def print_answer(answer: dict[str, Any], *, base: str) -> None:
    verdict = str(answer.get("verdict", "?")).upper()
    print(
        f"Gate: {verdict} for {answer.get('service')}/{answer.get('environment')} at "
        f"{str(answer.get('commit_sha', ''))[:7]} ({answer.get('artifact_count')} files, "
        f"gate run #{answer.get('gate_run')})"
    )
    reasons = answer.get("reasons") or []
    if not reasons:
        print("  (no rules are enabled for this environment)")
    for reason in reasons:
        print(f"  {str(reason.get('outcome', '?')).upper():<6} {reason.get('rule')}: ", end="")
        print(reason.get("message", ""))
        for item in (reason.get("found") or {}).get("items") or []:
            print(f"         - {item.get('reference')}: {item.get('title')} ", end="")
            print(base.rstrip("/") + str(item.get("url", "")))


def record(args: argparse.Namespace, manifest: list[dict[str, Any]], token: str) -> None:
    body: dict[str, Any] = {
        "service": args.service,
        "environment": args.environment,
        "external_id": args.external_id,
        "commit_sha": args.commit,
        "branch": args.branch,
        "status": args.status,
        "deployed_by": args.deployed_by,
        "manifest": manifest,
    }
    if args.rollback_of:
        body["rollback_of"] = args.rollback_of
    # The same deployment always gets the same key, so a retried CI step replays the first answer.
    seed = "\n".join([args.service, args.environment, args.external_id]).encode()
    key = "gate-client-" + hashlib.sha256(seed).hexdigest()[:40]
    status, answer = call(
        args.url,
        "/api/v1/deployments",
        body,
        token=token,
        timeout=args.timeout,
        headers={"Idempotency-Key": key},
    )
    if status not in (200, 201):
        raise ClientError(problem_text(status, answer))
    already = "Already recorded" if status == 200 else "Recorded"
    print(f"{already}: deployment #{answer.get('id')} ({answer.get('external_id')}).")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Ask Hindsight's deployment gate whether a build folder may ship. "
        "The token comes from HINDSIGHT_TOKEN. Exit 0: pass; 1: blocked; 2: error."
    )
    p.add_argument("folder", help="The build output folder, e.g. dist/.")
    p.add_argument("--url", required=True, help="Hindsight's base URL.")
    p.add_argument("--service", required=True, help="The service's slug.")
    p.add_argument("--environment", required=True, help="The environment's name.")
    p.add_argument("--commit", required=True, help="The commit the build was made from (hex).")
    p.add_argument("--rollback", action="store_true", help="This deployment is a rollback.")
    p.add_argument("--timeout", type=float, default=60.0, help="Seconds per request.")
    recording = p.add_argument_group("recording the deployment after a pass")
    recording.add_argument("--record", action="store_true", help="Record the deployment.")
    recording.add_argument("--external-id", help="The provider's id for the deployment.")
    recording.add_argument("--deployed-by", default="", help="A person or the CI job.")
    recording.add_argument("--branch", default="")
    recording.add_argument("--status", choices=STATUSES, default="succeeded")
    recording.add_argument(
        "--rollback-of",
        help="External id of the deployment this one rolls back (implies --rollback).",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    options = parser()
    args = options.parse_args(argv)
    if args.record and not args.external_id:
        options.error("--record needs --external-id.")
    token = os.environ.get("HINDSIGHT_TOKEN", "").strip()
    if not token:
        options.error("set HINDSIGHT_TOKEN to an API token.")
    try:
        manifest = build_manifest(args.folder)
        question = {
            "service": args.service,
            "environment": args.environment,
            "commit": args.commit,
            "manifest": manifest,
            "rollback": bool(args.rollback or args.rollback_of),
        }
        status, answer = call(args.url, "/api/v1/gate", question, token=token, timeout=args.timeout)
        if status not in (200, 409) or "verdict" not in answer:
            raise ClientError(problem_text(status, answer))
        print_answer(answer, base=args.url)
        if answer["verdict"] != "pass":
            return BLOCK
        if args.record:
            record(args, manifest, token)
    except ClientError as exc:
        print(f"gate_client: {exc}", file=sys.stderr)
        return ERROR
    return PASS


if __name__ == "__main__":
    sys.exit(main())
