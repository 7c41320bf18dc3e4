"""The CI client, end to end: a subprocess with no site-packages asks a live server with a real
token about a real build folder."""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from api.tokens import token_create
from deployments import services
from deployments.models import Artifact, Deployment, GateRun
from tests.factories import EnvironmentFactory, user_with_role

CLIENT = Path(__file__).resolve().parents[2] / "deployments" / "gate_client.py"
WORKER = b"export default { fetch() { return new Response('ok') } };\n" * 2_000


def run_client(*args: str, token: str | None, timeout: float = 60) -> subprocess.CompletedProcess:
    # -I -S: no site-packages and no environment tweaks, so only the standard library exists.
    env = {"PATH": "/usr/bin:/bin"}
    if token is not None:
        env["HINDSIGHT_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-I", "-S", str(CLIENT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def production(transactional_db):
    environment = EnvironmentFactory(service__slug="moodmash", name="production")
    services.gate_rule_create(
        environment=environment, kind="required_artifact", path="_worker.js", min_size=100_000
    )
    services.gate_rule_create(
        environment=environment, kind="required_artifact", path="_routes.json"
    )
    return environment


@pytest.fixture
def admin_token(transactional_db) -> str:
    user = user_with_role("admin", username="ci-bot")
    return token_create(user=user, name="CI", scope="write")[1]


def build_folder(root: Path, *, worker: bool) -> Path:
    (root / "static" / "img").mkdir(parents=True)
    (root / "_routes.json").write_text('{"version": 1, "include": ["/*"]}\n')
    (root / "static" / "app.js").write_text("console.log('moodmash');\n")
    (root / "static" / "img" / "logo.svg").write_bytes(b"<svg/>")
    if worker:
        (root / "_worker.js").write_bytes(WORKER)
    return root


def ask(live_server, folder: Path, *extra: str, token: str | None):
    return run_client(
        "--url",
        live_server.url,
        "--service",
        "moodmash",
        "--environment",
        "production",
        "--commit",
        "E4F5A6B",
        *extra,
        str(folder),
        token=token,
    )


def test_a_folder_without_the_worker_exits_1_and_says_why(
    live_server, production, admin_token, tmp_path
):
    result = ask(live_server, build_folder(tmp_path, worker=False), token=admin_token)
    assert result.returncode == 1, result.stderr
    assert "Gate: BLOCK for moodmash/production at e4f5a6b (3 files" in result.stdout
    assert "BLOCK  required_artifact: _worker.js is missing from the build" in result.stdout
    assert "PASS   required_artifact: _routes.json is present" in result.stdout
    run = GateRun.objects.get()
    assert run.verdict == GateRun.Verdict.BLOCK
    assert run.requested_by is not None
    assert run.requested_by.username == "ci-bot"
    assert not Deployment.objects.exists()


def test_a_good_folder_exits_0_and_records_the_deployment_once(
    live_server, production, admin_token, tmp_path
):
    folder = build_folder(tmp_path, worker=True)
    record = ("--record", "--external-id", "pages-7f3c", "--deployed-by", "ci: pages deploy")
    result = ask(live_server, folder, *record, token=admin_token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Gate: PASS" in result.stdout
    assert "Recorded: deployment #" in result.stdout

    deployment = Deployment.objects.get()
    assert (deployment.external_id, deployment.commit_sha) == ("pages-7f3c", "e4f5a6b")
    assert deployment.deployed_by == "ci: pages deploy"
    artifacts = {a.path: a for a in Artifact.objects.filter(deployment=deployment)}
    assert set(artifacts) == {"_routes.json", "_worker.js", "static/app.js", "static/img/logo.svg"}
    assert artifacts["_worker.js"].size == len(WORKER)
    assert artifacts["_worker.js"].sha256 == hashlib.sha256(WORKER).hexdigest()
    assert GateRun.objects.get().deployment == deployment

    again = ask(live_server, folder, *record, token=admin_token)
    assert again.returncode == 0, again.stderr
    assert "Recorded: deployment #" in again.stdout  # the first answer, replayed
    assert Deployment.objects.count() == 1


def test_a_read_token_may_ask_but_not_record(live_server, production, tmp_path):
    viewer = user_with_role("viewer", username="ci-reader")
    token = token_create(user=viewer, name="CI", scope="read")[1]
    folder = build_folder(tmp_path, worker=True)
    assert ask(live_server, folder, token=token).returncode == 0
    result = ask(live_server, folder, "--record", "--external-id", "x1", token=token)
    assert result.returncode == 2
    assert "Hindsight answered 403" in result.stderr
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--service", "nope"), "Hindsight answered 404: No service has the slug 'nope'."),
        (("--commit", "not-hex"), "commit"),
        (("--record",), "--record needs --external-id"),
    ],
)
def test_bad_questions_exit_2_with_the_reason(
    live_server, production, admin_token, tmp_path, args, message
):
    folder = build_folder(tmp_path, worker=True)
    result = run_client(
        "--url",
        live_server.url,
        "--service",
        "moodmash",
        "--environment",
        "production",
        "--commit",
        "e4f5a6b",
        *args,
        str(folder),
        token=admin_token,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_no_token_no_server_or_no_folder_exit_2(live_server, production, admin_token, tmp_path):
    folder = build_folder(tmp_path, worker=True)
    assert "HINDSIGHT_TOKEN" in ask(live_server, folder, token=None).stderr
    assert ask(live_server, folder, token=None).returncode == 2
    missing = ask(live_server, tmp_path / "nowhere", token=admin_token)
    assert missing.returncode == 2
    assert "is not a folder" in missing.stderr
    closed = run_client(
        "--url",
        "http://127.0.0.1:9",  # discard: nothing listens there
        "--service",
        "moodmash",
        "--environment",
        "production",
        "--commit",
        "e4f5a6b",
        str(folder),
        token=admin_token,
    )
    assert closed.returncode == 2
    assert "Could not reach" in closed.stderr


def test_the_client_imports_only_the_standard_library():
    tree = ast.parse(CLIENT.read_text())
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)
