"""The client against the real server (live_server, a real token) for what this tree's API has
today: the gate, recording a deployment, moving its status."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.tokens import service_account_create, token_create
from deployments import services
from deployments.models import Artifact, Deployment, GateRun
from tests.deployments.ci.conftest import CLIENT, assert_no_traceback, run_client
from tests.factories import EnvironmentFactory, user_with_role

WORKER = b"export default { fetch() { return new Response('ok') } };\n" * 2_000
WHERE = ("--service", "moodmash", "--environment", "production")


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


def gate(live_server, folder: Path, *extra: str, token: str | None, old_form: bool = False):
    command = () if old_form else ("gate",)
    return run_client(
        *command,
        "--url",
        live_server.url,
        *WHERE,
        "--commit",
        "E4F5A6B",
        *extra,
        str(folder),
        token=token,
    )


def client(live_server, *args: str, token: str):
    return run_client(*args, "--url", live_server.url, "--deadline", "20", token=token)


@pytest.mark.parametrize("old_form", [False, True], ids=["gate", "old-form"])
def test_a_folder_without_the_worker_exits_1_and_says_why(
    live_server, production, admin_token, tmp_path, old_form
):
    result = gate(
        live_server, build_folder(tmp_path, worker=False), token=admin_token, old_form=old_form
    )
    assert result.returncode == 1, str(result)
    assert "Gate: BLOCK for moodmash/production at e4f5a6b (3 files" in result.stdout
    assert "BLOCK  required_artifact: _worker.js is missing from the build" in result.stdout
    assert "PASS   required_artifact: _routes.json is present" in result.stdout
    assert "retry" not in result.stderr  # a block is an answer, not a conflict to retry
    run = GateRun.objects.get()
    assert run.verdict == GateRun.Verdict.BLOCK
    assert run.requested_by is not None
    assert run.requested_by.username == "ci-bot"
    assert not Deployment.objects.exists()


def test_a_good_folder_passes_and_gate_record_records_it_once(
    live_server, production, admin_token, tmp_path
):
    folder = build_folder(tmp_path, worker=True)
    record = ("--record", "--external-id", "pages-7f3c", "--deployed-by", "ci: pages deploy")
    before = datetime.now(UTC).replace(microsecond=0)
    result = gate(live_server, folder, *record, token=admin_token, old_form=True)
    assert result.returncode == 0, str(result)
    assert "Gate: PASS" in result.stdout
    assert "Recorded: deployment #" in result.stdout

    deployment = Deployment.objects.get()
    assert (deployment.external_id, deployment.commit_sha) == ("pages-7f3c", "e4f5a6b")
    assert deployment.deployed_by == "ci: pages deploy"
    assert deployment.status == Deployment.Status.SUCCEEDED
    assert deployment.started_at is not None
    assert before <= deployment.started_at <= datetime.now(UTC)
    artifacts = {a.path: a for a in Artifact.objects.filter(deployment=deployment)}
    assert set(artifacts) == {"_routes.json", "_worker.js", "static/app.js", "static/img/logo.svg"}
    assert artifacts["_worker.js"].size == len(WORKER)
    assert artifacts["_worker.js"].sha256 == hashlib.sha256(WORKER).hexdigest()
    assert GateRun.objects.get().deployment == deployment

    # Within the same second the body is the same, so the key is, and the first answer replays;
    # after it the server answers the deployment it has. Either way: one deployment.
    again = gate(live_server, folder, *record, token=admin_token)
    assert again.returncode == 0, str(again)
    assert f"ecorded: deployment #{deployment.pk} (pages-7f3c)" in again.stdout
    assert Deployment.objects.count() == 1


def test_record_then_finish_moves_the_deployment_on_the_clients_clock(
    live_server, production, admin_token, tmp_path
):
    folder = build_folder(tmp_path, worker=True)
    started = "2026-01-02T06:00:00Z"
    recorded = client(
        live_server,
        "record",
        *WHERE,
        "--external-id",
        "pages-7f3c",
        "--commit",
        "e4f5a6b",
        "--started-at",
        started,
        str(folder),
        token=admin_token,
    )
    assert recorded.returncode == 0, str(recorded)
    assert "Recorded: deployment #" in recorded.stdout
    deployment = Deployment.objects.get()
    assert deployment.status == Deployment.Status.IN_PROGRESS
    assert deployment.started_at == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)
    assert deployment.artifacts.count() == 4

    # The old client's key did not change with the status: this answered 422.
    finish = ("finish", *WHERE, "--external-id", "pages-7f3c")
    done = client(live_server, *finish, "--status", "succeeded", token=admin_token)
    assert done.returncode == 0, str(done)
    assert "in_progress -> succeeded" in done.stdout
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.SUCCEEDED
    assert deployment.finished_at is not None
    assert datetime.now(UTC) - deployment.finished_at < timedelta(minutes=1)

    again = client(live_server, *finish, "--status", "succeeded", token=admin_token)
    assert again.returncode == 0, str(again)
    assert "was already succeeded; nothing changed" in again.stdout

    refused = client(live_server, *finish, "--status", "failed", token=admin_token)
    assert refused.returncode == 2, str(refused)
    assert "cannot become failed. (allowed: rolled_back)" in refused.stderr
    assert "retry" not in refused.stderr

    rolled = client(
        live_server,
        *finish,
        "--status",
        "rolled_back",
        "--finished-at",
        "2026-01-02T07:00:00+01:00",
        "--json",
        token=admin_token,
    )
    assert rolled.returncode == 0, str(rolled)
    (answer,) = rolled.answers
    assert answer["status"] == "rolled_back"
    deployment.refresh_from_db()
    assert deployment.finished_at == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)


def test_recording_again_with_another_status_answers_the_first_one(
    live_server, production, admin_token
):
    record = ("record", *WHERE, "--external-id", "pages-7f3c", "--commit", "e4f5a6b")
    assert client(live_server, *record, token=admin_token).returncode == 0
    again = client(live_server, *record, "--status", "succeeded", token=admin_token)
    assert again.returncode == 0, str(again)
    assert "Already recorded" in again.stdout
    assert "is in_progress" in again.stdout
    assert Deployment.objects.get().status == Deployment.Status.IN_PROGRESS


def test_four_identical_records_at_once_all_exit_0_and_record_one(
    live_server, production, admin_token
):
    args = [
        sys.executable,
        "-S",
        str(CLIENT),
        "record",
        *WHERE,
        "--external-id",
        "pages-7f3c",
        "--commit",
        "e4f5a6b",
        "--started-at",
        # The same body: started within one second, they share an Idempotency-Key and three
        # meet a 409 "still running" to retry; across a second, the external id makes them one.
        "2026-01-02T06:00:00Z",
        "--url",
        live_server.url,
        "--deadline",
        "30",
    ]
    env = {"PATH": "/usr/bin:/bin", "HINDSIGHT_TOKEN": admin_token}
    runs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(4)
    ]
    results = [(run.wait(timeout=60), *run.communicate()) for run in runs]
    for code, out, err in results:
        assert code == 0, f"{out}\n{err}"
        assert "Traceback" not in err
    assert Deployment.objects.count() == 1


def test_a_read_token_may_ask_but_not_record(live_server, production, tmp_path):
    viewer = user_with_role("viewer", username="ci-reader")
    token = token_create(user=viewer, name="CI", scope="read")[1]
    folder = build_folder(tmp_path, worker=True)
    assert gate(live_server, folder, token=token).returncode == 0
    result = gate(live_server, folder, "--record", "--external-id", "x1", token=token)
    assert result.returncode == 2
    assert "Hindsight answered 403" in result.stderr
    assert "retry" not in result.stderr
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
    result = gate(live_server, folder, *args, token=admin_token)
    assert result.returncode == 2, str(result)
    assert message in result.stderr
    assert_no_traceback(result)


def test_no_folder_or_no_deployment_exits_2(live_server, production, admin_token, tmp_path):
    missing = gate(live_server, tmp_path / "nowhere", token=admin_token)
    assert missing.returncode == 2
    assert "is not a folder" in missing.stderr
    finish = ("finish", *WHERE, "--external-id", "never-recorded", "--status", "failed")
    unknown = client(live_server, *finish, token=admin_token)
    assert unknown.returncode == 2, str(unknown)
    assert "No deployment 'never-recorded' in moodmash/production" in unknown.stderr
    by_id = client(live_server, "finish", "--id", "999", "--status", "failed", token=admin_token)
    assert by_id.returncode == 2, str(by_id)
    assert "Hindsight has no deployment #999" in by_id.stderr


def test_a_service_accounts_deployments_token_runs_the_whole_pipeline(
    live_server, production, tmp_path
):
    account = service_account_create(username="pipeline", role="admin", created_by=None)
    token = token_create(user=account.user, name="deploys", scope="deployments")[1]
    folder = build_folder(tmp_path, worker=True)
    ident = ("--external-id", "pages-91ab")
    steps = [
        ("gate", *WHERE, "--commit", "e4f5a6b", str(folder)),
        ("record", *WHERE, *ident, "--commit", "e4f5a6b", str(folder)),
        ("maintenance", "start", *WHERE, *ident, "--reason", "Deploying", "--minutes", "30"),
        ("finish", *WHERE, *ident, "--status", "succeeded"),
        ("maintenance", "end", "--service", "moodmash", *ident),
        ("change", "--service", "moodmash", "--kind", "feature_flag", "--summary", "new feed on"),
    ]
    for step in steps:
        result = client(live_server, *step, token=token)
        assert result.returncode == 0, (step, str(result))
    assert Deployment.objects.get().status == Deployment.Status.SUCCEEDED


def test_a_gate_token_asks_the_gate_and_records_nothing(live_server, production, tmp_path):
    account = service_account_create(username="gatekeeper", role="viewer", created_by=None)
    token = token_create(user=account.user, name="gate", scope="gate")[1]
    folder = build_folder(tmp_path, worker=True)
    assert gate(live_server, folder, token=token).returncode == 0
    record = ("record", *WHERE, "--external-id", "x2", "--commit", "e4f5a6b", str(folder))
    recorded = client(live_server, *record, token=token)
    assert recorded.returncode == 2
    assert "Hindsight answered 403" in recorded.stderr
    assert "deployments" in recorded.stderr
    assert not Deployment.objects.exists()
