"""Endpoints made before every event was delivered keep getting exactly what they got: sent
communications, in their first payload, and nothing else."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents.models import WebhookEndpoint
from incidents.models.webhooks import COMMUNICATION_SENT, every_event_kind

BEFORE = [("incidents", "0026_external_references_and_labels")]
AFTER = [("incidents", "0027_webhooks_for_every_event")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_an_endpoint_made_before_follows_communication_sent_only_and_a_new_one_everything():
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO incidents_webhookendpoint (name, url, secret, active, created_at)"
                " VALUES ('Chat', 'https://hooks.example.com/x', 's3cret', true,"
                " '2026-01-02 06:03:00+00')"
            )
    finally:
        migrate(AFTER)

    assert WebhookEndpoint.objects.get().events == [COMMUNICATION_SENT]
    made_now = WebhookEndpoint.objects.create(name="New", url="https://new.example.com/")
    assert made_now.events == every_event_kind()
