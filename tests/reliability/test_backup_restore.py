"""Backup and restore: every row written out, loaded into an empty migrated database and written
out again, gives the same bytes; and a database that holds data is refused.

The data: the demo, the world the Redis-down walk writes to (tests/reliability/writes.py), each
of the walk's writes (feed events, outbox rows, live marks, history...), and a row of each model
those leave empty. The empty database is this one after Django's flush (what it does between
transactional tests: every table emptied, then migrate's post_migrate work: content types,
permissions, the roles) plus the templates migration 0004 ships.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessAttemptExpiration, AccessLog
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from api import ratelimit
from api.models import ServiceAccount
from core.models import Profile
from deployments.models import CheckResultHourly
from feed.models import FeedClock
from incidents.backups.services import EXCLUDED
from incidents.communications.defaults import default_templates_ensure
from incidents.models import (
    Attachment,
    CommunicationComponent,
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Delivery,
    DiscardedProposal,
    ExternalReference,
    FinalNote,
    Incident,
    IncidentLabel,
    PathPriority,
    PublicDocument,
    Reminder,
    ReminderRun,
    SolutionOption,
    StatusItem,
    Subscriber,
    WebhookAttempt,
    WebhookDelivery,
)
from tests import brokers
from tests.factories import ChangeFactory, MaintenanceWindowFactory, UserFactory
from tests.reliability.write_routes import WALKED
from tests.reliability.writes import World, world_build

pytestmark = [
    # Committed rows, as a backup reads them (and flush cannot empty tables mid-transaction).
    pytest.mark.django_db(transaction=True),
]


def backup() -> str:
    out = io.StringIO()
    call_command("backup", stdout=out)
    return out.getvalue()


def empty_models() -> list[str]:
    return sorted(
        model._meta.label
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in EXCLUDED
        and model._meta.label_lower not in EXCLUDED
        and not model._base_manager.exists()
    )


def rows_of_every_model() -> None:
    call_command("load_demo", stdout=io.StringIO())
    # The demo's week of hourly roll-ups (10,800 rows) thinned to a day's worth: restore loads
    # rows one by one (loaddata), a few hundred a second on a busy test machine.
    keep = CheckResultHourly.objects.order_by("pk").values_list("pk", flat=True)[:24]
    CheckResultHourly.objects.exclude(pk__in=list(keep)).delete()
    world = world_build()
    for write in WALKED:
        # Only for the rows they leave: with the demo's rules, the gate blocks (409), as it may.
        response = write.send(world)
        assert response.status_code < 500, f"{write}: {response.content[:300]!r}"
    rows_the_walk_leaves_out(world)


def rows_the_walk_leaves_out(world: World) -> None:
    now = timezone.now()
    incident, admin = world.incident, world.admin
    # Signing in: a failed attempt (axes) and one of each of its other tables.
    Client().post("/login/", {"username": admin.username, "password": "not it"})
    attempt = AccessAttempt.objects.get()
    AccessAttemptExpiration.objects.create(access_attempt=attempt, expires_at=now)
    AccessLog.objects.create(user_agent="tests", ip_address="192.0.2.7", username="x",
                             http_accept="*/*", path_info="/login/")  # fmt: skip
    # Settings and tokens.
    Profile.objects.update_or_create(user=admin, defaults={"time_zone": "Europe/Berlin"})
    Reminder.objects.create(person=admin, kind=Reminder.Kind.DIGEST, period=now.date())
    ReminderRun.objects.create(covered_until=now)
    ServiceAccount.objects.create(user=UserFactory(username="ci-bot"), created_by=admin)
    admin.user_permissions.add(Permission.objects.get(codename="view_incident"))
    ratelimit.DatabaseCounter().hit("ratelimit:anon:60:1:192.0.2.7", 60)
    APIClient().post(
        f"/api/v1/incidents/{incident.reference}/timeline-events",
        data=json.dumps({"occurred_at": "2026-01-02T06:04:00Z", "text": "Once only."}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.write_token}",
        HTTP_IDEMPOTENCY_KEY="backup-1",
    )
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(Incident),
        object_id=str(incident.pk),
        object_repr=str(incident),
        action_flag=ADDITION,
    )
    # The system side's other rows.
    ChangeFactory(service=world.service)
    MaintenanceWindowFactory(service=world.service)
    FeedClock.objects.get_or_create()
    # The status page.
    group = ComponentGroup.objects.create(name="Apps")
    component = Component.objects.create(name="Player", group=group)
    component.health_checks.add(world.check)
    # Microseconds under a thousand: Django's JSON cuts them, and wrote them back differently.
    ComponentStatusChange.objects.create(
        component=component, status="partial_outage", at=now.replace(microsecond=7)
    )
    CommunicationComponent.objects.create(
        communication=world.communication, component=component, status="partial_outage"
    )
    Subscriber.objects.get(email="reader@example.com").components.add(component)
    PublicDocument.objects.create(content_type="text/html", body=b"<p>up</p>", gzipped=b"",
                                  etag="e1", built_at=now, claimed_until=now)  # fmt: skip
    Delivery.objects.create(communication=world.communication, channel="email",
                            recipient="reader@example.com")  # fmt: skip
    webhook = WebhookDelivery.objects.filter(endpoint=world.hook).first()
    assert webhook is not None
    WebhookAttempt.objects.create(delivery=webhook, number=1, started_at=now, status_code=204)
    # The incident's other parts.
    Attachment.objects.create(incident=incident, file=ContentFile(b"log", name="log.txt"),
                              name="log.txt", content_type="text/plain", size=3,
                              sha256="0" * 64, uploaded_by=admin)  # fmt: skip
    DiscardedProposal.objects.create(incident=incident, part="timeline", text="No.")
    ExternalReference.objects.create(incident=incident, source="tracker", key="OPS-7")
    IncidentLabel.objects.create(incident=incident, name="storage")
    FinalNote.objects.create(incident=incident, kind="learned", text="Check the build.")
    StatusItem.objects.create(incident=incident, kind="working", label="Database")
    priority = PathPriority.objects.create(incident=incident, title="Stop it recurring")
    SolutionOption.objects.create(priority=priority, label="A", title="Check the build")


def test_a_backup_restored_into_an_empty_database_backs_up_to_the_same_bytes(tmp_path: Path):
    # The tasks the writes queue wait in the outbox (rows to back up too), not in Redis.
    with brokers.broker_at(brokers.refused_port()):
        rows_of_every_model()
    assert empty_models() == []
    first = backup()

    call_command("flush", interactive=False)
    default_templates_ensure()
    path = tmp_path / "hindsight-backup.json"
    path.write_text(first, encoding="utf-8")
    call_command("restore", str(path), stdout=io.StringIO())

    assert backup() == first


def test_restoring_into_a_database_that_holds_data_is_refused(tmp_path: Path):
    world_build()
    path = tmp_path / "hindsight-backup.json"
    path.write_text(backup(), encoding="utf-8")
    incidents = Incident.objects.count()

    with pytest.raises(CommandError, match=r"already holds data \(.*incidents\.Incident\b"):
        call_command("restore", str(path))
    assert Incident.objects.count() == incidents
