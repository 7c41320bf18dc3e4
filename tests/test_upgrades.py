"""Upgrading keeps what was there: each data migration, run on rows written as they were before it.

Each test migrates the schema to the migration before the one it checks, writes rows with the
models as they were then, migrates one step and reads what came out. The tests are in the order of
the migrations they check and run on one worker, one after another (their xdist group): the
schema walks back once, to the earliest, and then only forward, to the next test's starting
point. Going back and forth to the latest schema around every test cost 10 to 20 s a test. The
module's fixture brings the schema back to the latest when the last one is done, so any test
alone (`-k`) still starts from wherever the schema is and ends with it whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from deployments.models import Deployment
from incidents.models import ActionItem, Incident, WebhookEndpoint
from incidents.models.webhooks import COMMUNICATION_SENT, every_event_kind
from outbox.models import OutboxMessage
from tests.incidents.test_action_item_states import NO_REASON_RECORDED

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("upgrades")]

Target = list[tuple[str, str]]


@pytest.fixture(scope="module", autouse=True)
def latest_schema_after_the_module(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Every later test of this worker needs every migration applied; the rows the steps left in
    tables the flush after each test did not know (renamed later) go too."""
    yield
    with django_db_blocker.unblock():
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        call_command("flush", verbosity=0, interactive=False)


def migrate(targets: Target) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def test_waiting_outbox_rows_move_to_their_own_app_with_their_ids_times_and_errors():
    """incidents 0005: the outbox moved from incidents to its own app."""
    migrate([("incidents", "0004_default_communication_templates")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO incidents_outboxmessage"
                " (id, task, kwargs, created_at, published_at, attempts, last_error)"
                " VALUES (41, 'incidents.tasks.communication_deliver',"
                " '{\"communication_id\": 5}', '2026-01-02 06:03:00+00', NULL, 3, 'refused')"
            )
    finally:
        migrate([("incidents", "0005_outbox_moves_to_its_own_app")])

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


RECORDED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_deployments_recorded_without_times_get_the_time_they_were_recorded():
    """deployments 0004: none drops out of the gate, the correlation or last known good."""
    before: Target = [("deployments", "0003_health_runtime")]
    old = migrate(before).loader.project_state(before).apps
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

    migrate([("deployments", "0004_deployment_times")])

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


def test_items_set_to_wont_do_before_reasons_existed_get_one_saying_so():
    """incidents 0011: action items gained states and a reason for won't do."""
    before: Target = [("incidents", "0010_row_versions")]
    old = migrate(before).loader.project_state(before).apps
    service = old.get_model("deployments", "Service").objects.create(slug="old", name="Old")
    incident = old.get_model("incidents", "Incident").objects.create(
        number=77, service=service, title="Old", started_at=timezone.now()
    )
    items = old.get_model("incidents", "ActionItem").objects
    dropped = items.create(incident=incident, title="Dropped", status="wont_do")
    kept = items.create(incident=incident, title="Kept", status="open")

    migrate([("incidents", "0011_action_item_states_and_duplicates")])

    reasons = dict(ActionItem.objects.values_list("pk", "closed_reason"))
    assert reasons == {dropped.pk: NO_REASON_RECORDED, kept.pk: ""}


def test_incidents_with_a_standing_published_update_are_public_after_the_migration():
    """incidents 0013: an incident is public from its first published status page update."""
    before: Target = [("incidents", "0012_timeline_changes")]
    old = migrate(before).loader.project_state(before).apps
    service = old.get_model("deployments", "Service").objects.create(slug="old", name="Old")
    incidents = old.get_model("incidents", "Incident").objects
    messages = old.get_model("incidents", "Communication").objects
    at = datetime(2026, 1, 2, 6, 5, tzinfo=UTC)

    def incident(number: int, *updates: dict) -> int:
        row = incidents.create(number=number, service=service, title="Old", started_at=at)
        for fields in updates:
            messages.create(incident=row, subject="Update", **fields)
        return row.pk

    sent = {"audience": "status_page", "status": "sent", "approved_at": at, "sent_at": at}
    later = {**sent, "approved_at": at + timedelta(minutes=9), "sent_at": at + timedelta(minutes=9)}
    withdrawn = {**sent, "retracted_at": at + timedelta(minutes=1), "retraction_reason": "Wrong"}
    published = incident(1, later, sent)
    only_withdrawn = incident(2, withdrawn)
    only_email = incident(3, {**sent, "audience": "user_email"})
    only_draft = incident(4, {"audience": "status_page", "status": "draft"})
    nothing = incident(5)

    migrate([("incidents", "0013_incident_visibility")])

    since = dict(Incident.objects.values_list("pk", "public_since"))
    assert since == {
        published: at,  # its first published update
        only_withdrawn: None,
        only_email: None,
        only_draft: None,
        nothing: None,
    }
    assert not Incident.objects.filter(public_marked=True).exists()


def test_an_endpoint_made_before_follows_communication_sent_only_and_a_new_one_everything():
    """incidents 0027: endpoints made before every event was delivered keep getting exactly
    what they got: sent communications, in their first payload, and nothing else."""
    migrate([("incidents", "0026_external_references_and_labels")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO incidents_webhookendpoint (name, url, secret, active, created_at)"
                " VALUES ('Chat', 'https://hooks.example.com/x', 's3cret', true,"
                " '2026-01-02 06:03:00+00')"
            )
    finally:
        migrate([("incidents", "0027_webhooks_for_every_event")])

    assert WebhookEndpoint.objects.get().events == [COMMUNICATION_SENT]
    made_now = WebhookEndpoint.objects.create(name="New", url="https://new.example.com/")
    assert made_now.events == every_event_kind()
