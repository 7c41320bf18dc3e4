"""Retries against the fake: what is retried (connection errors, 429, 5xx, 409 "still
running"), with which key, how long, and what is not retried at all."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import datetime

import pytest

from deployments.ci.hindsight_ci import idempotency_key
from tests.deployments.ci.conftest import CLIENT, RECORD, assert_no_traceback, run_client
from tests.deployments.ci.fake import FakeHindsight, Reply, in_use, problem

DEPLOYMENTS = "/api/v1/deployments"
FINISH = ("finish", "--service", "moodmash", "--environment", "production")


def retry_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "; retry " in line]


def test_409_still_running_is_retried_with_the_same_key_until_the_answer(fake):
    fake.inject("POST", DEPLOYMENTS, in_use(), in_use())
    run = run_client(*RECORD, url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert "Recorded: deployment #1" in run.stdout
    assert len(retry_lines(run.stderr)) == 2
    assert "409 the first request with this Idempotency-Key is still running; retry 1" in run.stderr
    posts = fake.seen("POST", DEPLOYMENTS)
    assert len(posts) == 3
    assert len({p.headers["idempotency-key"] for p in posts}) == 1
    assert posts[0].body == posts[2].body


def test_503_then_200_is_retried(fake):
    fake.add_deployment(external_id="pages-7f3c", status="in_progress")
    fake.inject("POST", f"{DEPLOYMENTS}/1/status", Reply(503, {"title": "Unavailable"}))
    run = run_client(
        *FINISH,
        "--external-id",
        "pages-7f3c",
        "--status",
        "succeeded",
        url=fake.url,
        token=fake.token,
    )
    assert run.returncode == 0, str(run)
    assert "503 Unavailable; retry 1 in" in run.stderr
    assert fake.deployments[0]["status"] == "succeeded"


def test_a_proxys_html_502_is_retried_too(fake):
    fake.inject("POST", DEPLOYMENTS, Reply(502, "<html>Bad Gateway</html>"))
    run = run_client(*RECORD, url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert len(retry_lines(run.stderr)) == 1


def test_429_waits_as_long_as_retry_after_says(fake):
    fake.inject("POST", DEPLOYMENTS, Reply(429, {"title": "Throttled"}, {"retry-after": "2"}))
    run = run_client(*RECORD, url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert "429 too many requests (Retry-After 2 s); retry 1 in 2.0 s" in run.stderr
    assert run.seconds >= 2


def test_a_retry_after_past_the_deadline_gives_up_at_once(fake):
    fake.inject("POST", DEPLOYMENTS, Reply(429, {}, {"Retry-After": "120"}))
    run = run_client(*RECORD, "--deadline", "30", url=fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert "Retry-After 120 s" in run.stderr
    assert "gave up after 1 attempt in" in run.stderr
    assert run.seconds < 15


def test_a_deadline_that_runs_out_exits_2(fake):
    fake.inject("POST", DEPLOYMENTS, *[Reply(503, {"title": "Unavailable"})] * 100)
    run = run_client(*RECORD, "--deadline", "2", url=fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert "gave up after" in run.stderr
    assert "(--deadline 2 s)" in run.stderr
    assert len(retry_lines(run.stderr)) >= 2
    assert run.seconds < 15
    assert_no_traceback(run)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_retried_until_hindsight_is_up():
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HINDSIGHT_TOKEN": "hst_fake"}
    url = f"http://127.0.0.1:{port}"
    client = subprocess.Popen(
        [sys.executable, "-S", str(CLIENT), *RECORD, "--url", url, "--deadline", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(1.5)
    fake = FakeHindsight(port=port)
    try:
        fake.add_environment("moodmash", "production")
        out, err = client.communicate(timeout=60)
    finally:
        fake.close()
    assert client.returncode == 0, f"{out}\n{err}"
    assert f"Could not reach {url} (" in err
    assert "Recorded: deployment #1" in out


@pytest.mark.parametrize(
    "reply",
    [
        Reply(400, problem(400, "validation-error", "The request has invalid fields.")),
        Reply(401, problem(401, "not-authenticated", "Authentication is required.")),
        Reply(403, problem(403, "permission-denied", "You may not do this.")),
        Reply(404, problem(404, "unknown-environment", "No such environment.")),
        Reply(409, problem(409, "status-transition-not-allowed", "Cannot.")),
        Reply(413, problem(413, "manifest-too-large", "Too many files.")),
        Reply(422, problem(422, "idempotency-key-reused", "Another request.")),
    ],
    ids=lambda reply: str(reply.status),
)
def test_other_4xx_are_answers_not_retried(fake, reply):
    fake.inject("POST", DEPLOYMENTS, reply)
    run = run_client(*RECORD, url=fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert f"Hindsight answered {reply.status}: {reply.body['detail']}" in run.stderr
    assert len(fake.seen("POST", DEPLOYMENTS)) == 1
    assert_no_traceback(run)


def test_in_progress_then_succeeded_are_two_requests_not_one_key_reused(fake):
    # The old client keyed on service, environment and external id alone: this answered 422.
    assert run_client(*RECORD, url=fake.url, token=fake.token).returncode == 0
    again = run_client(*RECORD, "--status", "succeeded", url=fake.url, token=fake.token)
    assert again.returncode == 0, str(again)
    assert "Already recorded: deployment #1 (pages-7f3c) is in_progress" in again.stdout
    first, second = fake.seen("POST", DEPLOYMENTS)
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]

    finish = (*FINISH, "--external-id", "pages-7f3c", "--status")
    assert run_client(*finish, "succeeded", url=fake.url, token=fake.token).returncode == 0
    refused = run_client(*finish, "failed", url=fake.url, token=fake.token)
    assert refused.returncode == 2  # judged by the server as the transition it is, not replayed
    assert "cannot become failed" in refused.stderr
    keys = {r.headers["idempotency-key"] for r in fake.seen("POST", f"{DEPLOYMENTS}/1/status")}
    assert len(keys) == 2


def test_the_key_is_the_request_and_the_second_the_run_started():
    started = "2026-01-02T06:00:00Z"
    body = {"status": "succeeded", "finished_at": "2026-01-02T06:05:00Z"}
    key = idempotency_key("POST", "/deployments/1/status", body, started)
    assert key == idempotency_key("POST", "/deployments/1/status", dict(body), started)
    assert len(key) <= 255
    assert key.startswith("hindsight-ci-")
    others = [
        idempotency_key("POST", "/deployments/1/status", {**body, "status": "failed"}, started),
        idempotency_key("POST", "/deployments/2/status", body, started),
        idempotency_key("POST", "/deployments/1/status", body, "2026-01-02T06:00:01Z"),
    ]
    assert key not in others
    assert len(set(others)) == 3


def test_record_sends_started_at_now_in_utc(fake):
    before = time.time()
    run = run_client(*RECORD, "--json", url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    (sent,) = fake.seen("POST", DEPLOYMENTS)
    assert sent.body["started_at"].endswith("Z")
    assert sent.body["status"] == "in_progress"
    assert "finished_at" not in sent.body
    started = datetime.fromisoformat(sent.body["started_at"].replace("Z", "+00:00"))
    assert before - 1 <= started.timestamp() <= time.time()
    (answer,) = run.answers
    assert answer["started_at"] == sent.body["started_at"]
