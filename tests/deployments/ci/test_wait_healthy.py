"""wait-healthy against the fake, whose verify answers a scripted health: unknown then healthy,
unhealthy, never decided; and a Hindsight without verify, read through GET instead."""

from __future__ import annotations

from tests.deployments.ci.conftest import assert_no_traceback, run_client
from tests.deployments.ci.fake import Reply

WAIT = (
    "wait-healthy",
    "--service",
    "moodmash",
    "--environment",
    "production",
    "--external-id",
    "pages-7f3c",
    "--interval",
    "0.2",
)
VERIFY = "/api/v1/deployments/1/verify"


def test_unknown_then_healthy_exits_0(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.health_script[1] = ["unknown", "unknown", "healthy"]
    run = run_client(*WAIT, "--timeout", "30", url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert "Deployment #1 (pages-7f3c) is healthy" in run.stdout
    assert run.stderr.count("is unknown; next check in") == 2
    verifies = fake.seen("POST", VERIFY)
    assert len(verifies) == 3
    # Each poll is a new check, not a retry of the last one: nothing to replay.
    assert all("idempotency-key" not in seen.headers for seen in verifies)


def test_unhealthy_while_warming_up_then_healthy_exits_0(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.health_script[1] = ["unhealthy", "unhealthy", "healthy"]
    run = run_client(*WAIT, "--timeout", "30", url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert run.stderr.count("is unhealthy; next check in") == 2
    assert len(fake.seen("POST", VERIFY)) == 3


def test_still_unhealthy_at_the_timeout_exits_1(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.health_script[1] = ["unknown", "unhealthy"]
    run = run_client(*WAIT, "--timeout", "1", "--json", url=fake.url, token=fake.token)
    assert run.returncode == 1, str(run)
    assert run.answers[-1]["health"] == "unhealthy"


def test_fail_fast_exits_1_at_the_first_unhealthy(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.health_script[1] = ["unknown", "unhealthy", "healthy"]
    run = run_client(*WAIT, "--fail-fast", "--json", url=fake.url, token=fake.token)
    assert run.returncode == 1, str(run)
    (answer,) = run.answers
    assert answer["health"] == "unhealthy"
    assert len(fake.seen("POST", VERIFY)) == 2


def test_never_healthy_exits_1_at_the_timeout_saying_it_was_still_unknown(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    run = run_client(*WAIT, "--timeout", "1.5", url=fake.url, token=fake.token)
    assert run.returncode == 1, str(run)
    assert "was still unknown after 1.5 s: not healthy by the deadline" in run.stdout
    assert 1.5 <= run.seconds < 10
    assert len(fake.seen("POST", VERIFY)) >= 3


def test_by_id_without_a_look_up(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.health_script[1] = ["healthy"]
    run = run_client("wait-healthy", "--id", "1", url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert fake.seen("GET", "/api/v1/deployments") == []


def test_without_verify_it_reads_the_health_the_deployment_has(fake):
    fake.verify_enabled = False  # verify answers 404, as a Hindsight from before issue 16
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.deployments[0]["health"] = "healthy"
    run = run_client(*WAIT, url=fake.url, token=fake.token)
    assert run.returncode == 0, str(run)
    assert "cannot verify on request; reading the health it has" in run.stderr
    assert len(fake.seen("POST", VERIFY)) == 1  # asked once, then only GET
    assert len(fake.seen("GET", "/api/v1/deployments/1")) == 1


def test_a_405_on_verify_falls_back_too(fake):
    fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.deployments[0]["health"] = "unhealthy"
    fake.inject("POST", VERIFY, Reply(405, {"title": "Method not allowed."}))
    run = run_client(*WAIT, "--fail-fast", url=fake.url, token=fake.token)
    assert run.returncode == 1, str(run)
    assert "cannot verify on request; reading the health it has" in run.stderr
    assert len(fake.seen("GET", "/api/v1/deployments/1")) == 1


def test_a_hindsight_that_reports_no_health_exits_2(fake):
    fake.verify_enabled = False
    row = fake.add_deployment(external_id="pages-7f3c", status="succeeded")
    fake.inject(
        "GET", "/api/v1/deployments/1", Reply(200, {k: v for k, v in row.items() if k != "health"})
    )
    run = run_client(*WAIT, url=fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert "does not report a deployment's health" in run.stderr
    assert_no_traceback(run)


def test_an_unknown_deployment_exits_2(fake):
    run = run_client(*WAIT, url=fake.url, token=fake.token)
    assert run.returncode == 2, str(run)
    assert "No deployment 'pages-7f3c' in moodmash/production" in run.stderr
