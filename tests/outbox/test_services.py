"""The outbox's own rules: what it carries and how long it keeps what it published. (Publishing
through eager tasks, Redis and a real worker: tests/incidents/test_delivery.py,
tests/reliability/test_outbox.py and tests/deployments/test_smoke_run_outbox.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.services.probes import SMOKE_RUN_TASK
from incidents.communications.delivery import DELIVER_TASK
from outbox import services as outbox_services
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_the_outbox_carries_only_the_tasks_an_app_registered():
    with pytest.raises(ValueError, match=r"does not carry 'os\.system'"):
        outbox_services.outbox_enqueue(task="os.system", kwargs={})
    row = OutboxMessage.objects.create(task="os.system", kwargs={})
    with pytest.raises(ValueError, match="does not carry"):
        outbox_services.outbox_publish(message=row)


def test_both_apps_registered_their_tasks_under_their_real_names():
    from hindsight.celery import app

    for name in (DELIVER_TASK, SMOKE_RUN_TASK):
        outbox_services._check_carried(name)
        assert app.tasks[name].name == name


def test_task_names_stay_as_first_published_when_the_code_moves():
    # Rows written and messages queued before an upgrade name tasks by these strings.
    from hindsight.celery import app

    for name in (
        "incidents.tasks.communication_deliver",
        "incidents.tasks.delivery_send",
        "incidents.tasks.incident_rerender_markdown",
        "deployments.tasks.deployment_smoke_run",
        "deployments.tasks.service_probe",
        "deployments.tasks.health_dispatch",
        "deployments.tasks.health_results_roll_up",
    ):
        assert name in app.tasks, name


def test_the_relay_forgets_published_rows_after_a_week():
    old = OutboxMessage.objects.create(
        task=DELIVER_TASK,
        kwargs={"communication_id": 0},
        published_at=timezone.now() - timedelta(days=8),
    )
    recent = OutboxMessage.objects.create(
        task=DELIVER_TASK,
        kwargs={"communication_id": 0},
        published_at=timezone.now() - timedelta(days=6),
    )
    outbox_services.outbox_relay()
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk
