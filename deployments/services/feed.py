"""What the system side tells the change feed: a deployment, a gate run and a change as their
API details show them (the same field names), recorded in the transaction that made them.
tests/feed/test_system_events.py holds the shapes equal to the API's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deployments.models import Change, Deployment, GateRun
from feed.kinds import EventKind
from feed.services import feed_actor, feed_record


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def deployment_feed_data(deployment: Deployment) -> dict[str, Any]:
    return {
        "id": deployment.pk,
        "service": deployment.environment.service.slug,
        "environment": deployment.environment.name,
        "external_id": deployment.external_id,
        "commit_sha": deployment.commit_sha,
        "branch": deployment.branch,
        "status": deployment.status,
        "deployed_by": deployment.deployed_by,
        "started_at": _time(deployment.started_at),
        "finished_at": _time(deployment.finished_at),
        "created_at": _time(deployment.created_at),
        "rollback_of": deployment.rollback_of.external_id if deployment.rollback_of else None,
        "manifest_digest": deployment.manifest_digest,
        "health": deployment.health,
        "health_checked_at": _time(deployment.health_checked_at),
    }


def gate_run_feed_data(run: GateRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "service": run.service.slug,
        "environment": run.environment.name,
        "commit_sha": run.commit_sha,
        "manifest_digest": run.manifest_digest,
        "artifact_count": run.artifact_count,
        "verdict": run.verdict,
        "reasons": run.reasons,
        "requested_by": run.requested_by.get_username() if run.requested_by else None,
        "deployment": run.deployment_id,
        "created_at": _time(run.created_at),
    }


def change_feed_data(change: Change) -> dict[str, Any]:
    return {
        "id": change.pk,
        "service": change.service.slug,
        "environment": change.environment.name if change.environment else None,
        "kind": change.kind,
        "summary": change.summary,
        "link": change.link,
        "at": _time(change.at),
        "by": change.by,
        "external_id": change.external_id,
        "created_at": _time(change.created_at),
    }


def feed_deployment(*, kind: EventKind, deployment: Deployment) -> None:
    # The system side knows no users: who acted is the token CI sent, if any.
    feed_record(
        kind=kind,
        subject_id=deployment.pk,
        data=deployment_feed_data(deployment),
        actor=feed_actor(None),
    )


def feed_gate_run(*, run: GateRun) -> None:
    passed = run.verdict == GateRun.Verdict.PASS
    feed_record(
        kind=EventKind.GATE_PASSED if passed else EventKind.GATE_BLOCKED,
        subject_id=run.pk,
        data=gate_run_feed_data(run),
        actor=feed_actor(run.requested_by),
    )


def feed_change(*, change: Change) -> None:
    feed_record(
        kind=EventKind.CHANGE_RECORDED,
        subject_id=change.pk,
        data=change_feed_data(change),
        actor=feed_actor(None),
    )
