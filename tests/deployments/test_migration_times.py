"""0004_deployment_times: rows recorded without times get the time they were recorded, so none
drops out of the gate, the correlation or last known good after the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from deployments.models import Deployment

BEFORE = [("deployments", "0003_health_runtime")]
AFTER = [("deployments", "0004_deployment_times")]
RECORDED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_rows_without_times_get_the_time_they_were_recorded():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    service = old.get_model("deployments", "Service").objects.create(slug="old", name="Old")
    environment = old.get_model("deployments", "Environment").objects.create(
        service=service, name="production"
    )
    rows = old.get_model("deployments", "Deployment").objects

    def row(external_id: str, status: str, **times):
        created = rows.create(
            environment=environment, external_id=external_id, commit_sha="abcd", status=status
        )
        rows.filter(pk=created.pk).update(created_at=RECORDED, **times)
        return created.pk

    started = RECORDED - timedelta(hours=1)
    later = RECORDED + timedelta(hours=1)  # a start CI gave ahead of the server's clock
    ids = {
        "pending": row("a", "pending"),
        "succeeded": row("b", "succeeded"),
        "failed, started": row("c", "failed", started_at=started),
        "rolled back, started later": row("d", "rolled_back", started_at=later),
        "in progress, started": row("e", "in_progress", started_at=started),
        "succeeded, both": row("f", "succeeded", started_at=started, finished_at=RECORDED),
    }

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    times = {
        name: Deployment.objects.values_list("started_at", "finished_at").get(pk=pk)
        for name, pk in ids.items()
    }
    assert times == {
        "pending": (RECORDED, None),
        "succeeded": (RECORDED, RECORDED),
        "failed, started": (started, RECORDED),
        "rolled back, started later": (later, later),
        "in progress, started": (started, None),
        "succeeded, both": (started, RECORDED),
    }
    field = Deployment._meta.get_field("started_at")
    assert field.null is False
