"""The client's side of the issue 16 contract, each test run twice by the `hindsight` fixture:
against the fake, and against the real server (live_server).

LIVE CASES: the server side of maintenance windows, changes and verify is being built apart from
this client. Until this tree has an endpoint, its live cases skip (Target.require says which);
once it lands they run as they are, and must pass. Recording with started_at works live today.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import HealthCheckFactory

WHERE = ("--service", "moodmash", "--environment", "production")


def recent(stamp: str) -> bool:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


def test_record_without_started_at_starts_it_now(hindsight):
    run = hindsight.client(
        "record", *WHERE, "--external-id", "pages-7f3c", "--commit", "e4f5a6b", "--json"
    )
    assert run.returncode == 0, str(run)
    (deployment,) = run.answers
    assert deployment["status"] == "in_progress"
    assert recent(deployment["started_at"])
    assert deployment["finished_at"] is None


def test_maintenance_starts_once_and_ends_by_its_external_id(hindsight):
    hindsight.require("/maintenance-windows")
    start = (
        "maintenance",
        "start",
        *WHERE,
        "--reason",
        "Deploying e4f5a6b",
        "--minutes",
        "30",
        "--external-id",
        "pages-7f3c",
    )
    opened = hindsight.client(*start, "--json")
    assert opened.returncode == 0, str(opened)
    (window,) = opened.answers
    assert window["open"] is True
    assert (window["service"], window["environment"]) == ("moodmash", "production")
    assert window["external_id"] == "pages-7f3c"
    # Within the same second the first answer replays (the same key), after it the server
    # answers the open window: either way the same one.
    again = hindsight.client(*start, "--json")
    assert again.returncode == 0, str(again)
    assert again.answers[0]["id"] == window["id"]

    end = ("maintenance", "end", "--service", "moodmash", "--external-id", "pages-7f3c")
    ended = hindsight.client(*end, "--json")
    assert ended.returncode == 0, str(ended)
    (closed,) = ended.answers
    assert closed["id"] == window["id"]
    assert closed["open"] is False
    assert closed["ended_at"] is not None
    # A retried CI step finds nothing open: done already, not an error.
    twice = hindsight.client(*end)
    assert twice.returncode == 0, str(twice)
    assert "has ended already" in twice.stdout


def test_maintenance_ends_by_id(hindsight):
    hindsight.require("/maintenance-windows")
    opened = hindsight.client("maintenance", "start", "--service", "moodmash", "--json")
    assert opened.returncode == 0, str(opened)
    ident = str(opened.answers[0]["id"])
    ended = hindsight.client("maintenance", "end", "--id", ident)
    assert ended.returncode == 0, str(ended)
    assert f"Maintenance window #{ident} ended at" in ended.stdout


def test_ending_a_window_that_never_was_exits_2(hindsight):
    hindsight.require("/maintenance-windows")
    run = hindsight.client("maintenance", "end", "--service", "moodmash", "--external-id", "nope")
    assert run.returncode == 2, str(run)
    assert "No maintenance window 'nope' for moodmash" in run.stderr


def test_a_change_is_recorded_once_per_external_id(hindsight):
    hindsight.require("/changes")
    change = (
        "change",
        *WHERE,
        "--kind",
        "feature_flag",
        "--summary",
        "new-feed on for 10%",
        "--link",
        "https://flags.example.com/new-feed",
        "--by",
        "ci: flags job",
        "--external-id",
        "flag-812",
    )
    first = hindsight.client(*change, "--json")
    assert first.returncode == 0, str(first)
    (recorded,) = first.answers
    assert (recorded["kind"], recorded["summary"]) == ("feature_flag", "new-feed on for 10%")
    assert recent(recorded["at"])
    again = hindsight.client(*change, "--at", "2026-01-02T06:00:00Z", "--json")
    assert again.returncode == 0, str(again)
    assert again.answers[0]["id"] == recorded["id"]


def test_a_change_keeps_the_time_it_is_given(hindsight):
    hindsight.require("/changes")
    run = hindsight.client(
        "change",
        "--service",
        "moodmash",
        "--kind",
        "config",
        "--summary",
        "pool size 20 -> 40",
        "--at",
        "2026-01-02T07:00:00+01:00",
        "--json",
    )
    assert run.returncode == 0, str(run)
    (recorded,) = run.answers
    at = datetime.fromisoformat(recorded["at"].replace("Z", "+00:00"))
    assert at == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "script", "timeout", "health", "code"),
    [
        ("/ok", ["unknown", "healthy"], "30", "healthy", 0),
        # Failing while the rollout warms up (503 twice), then passing: waited out, exit 0.
        ("/warming/2", ["unhealthy", "unhealthy", "healthy"], "30", "healthy", 0),
        ("/status/500", ["unknown", "unhealthy"], "2", "unhealthy", 1),
    ],
    ids=["healthy", "turns-healthy", "unhealthy"],
)
def test_the_whole_deploy_record_finish_wait_healthy(
    hindsight, request, path, script, timeout, health, code
):
    hindsight.require("/deployments/1/verify")
    if hindsight.kind == "live":
        # The real verify probes the environment's checks: one on a local target server.
        target = request.getfixturevalue("target_server")
        request.getfixturevalue("loopback_allowed")
        environment = hindsight.extra["environment"]
        HealthCheckFactory(
            service=environment.service, environment=environment, url=target.url(path)
        )
    else:
        assert hindsight.fake is not None
        hindsight.fake.health_script[1] = script
    ident = ("--external-id", "pages-7f3c")
    recorded = hindsight.client("record", *WHERE, *ident, "--commit", "e4f5a6b")
    assert recorded.returncode == 0, str(recorded)
    finished = hindsight.client("finish", *WHERE, *ident, "--status", "succeeded")
    assert finished.returncode == 0, str(finished)
    wait = ("wait-healthy", *WHERE, *ident, "--timeout", timeout, "--interval", "0.5", "--json")
    waited = hindsight.client(*wait)
    assert waited.returncode == code, str(waited)
    (deployment,) = waited.answers
    assert deployment["health"] == health
    assert deployment["status"] == "succeeded"
