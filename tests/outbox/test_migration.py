"""The outbox moved from incidents to its own app: rows still waiting move with it, untouched."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from outbox.models import OutboxMessage

BEFORE = [("incidents", "0004_default_communication_templates")]
AFTER = [("incidents", "0005_outbox_moves_to_its_own_app")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_waiting_rows_move_with_their_ids_times_and_errors():
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO incidents_outboxmessage"
                " (id, task, kwargs, created_at, published_at, attempts, last_error)"
                " VALUES (41, 'incidents.tasks.communication_deliver',"
                " '{\"communication_id\": 5}', '2026-01-02 06:03:00+00', NULL, 3, 'refused')"
            )
    finally:
        migrate(AFTER)

    row = OutboxMessage.objects.get()
    assert (row.pk, row.task, row.kwargs) == (
        41,
        "incidents.tasks.communication_deliver",
        {"communication_id": 5},
    )
    assert row.created_at.isoformat() == "2026-01-02T06:03:00+00:00"
    assert (row.published_at, row.attempts, row.last_error) == (None, 3, "refused")
    # The table's id sequence moved past the copied ids.
    assert OutboxMessage.objects.create(task="t").pk > 41
