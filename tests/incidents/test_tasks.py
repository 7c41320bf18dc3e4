"""Incident tasks through a real Celery worker and Redis, not eagerly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from celery.result import EagerResult

from core.rendering import render
from deployments.models import Service
from incidents.models import Incident, TimelineEvent
from incidents.postmortem import services
from incidents.postmortem.tasks import incident_rerender_markdown

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

STARTED = datetime(2026, 1, 2, 6, 2, tzinfo=UTC)
SUMMARY = """\
The **web tier** served errors for 16 minutes after a deploy shipped without its worker bundle.

- detected by the uptime probe
- fixed by rolling back, see `deploy-7f3a`
"""


@pytest.fixture
def incident() -> Incident:
    service = Service.objects.create(name="Storefront", slug="storefront")
    incident = services.incident_create(
        service=service, title="Checkout down", started_at=STARTED, summary=SUMMARY
    )
    services.timeline_event_add(
        incident=incident, occurred_at=STARTED, text="Pager fired for *checkout*."
    )
    return incident


def test_rerender_task_restores_stored_html_through_the_worker(
    celery_worker: object, incident: Incident
) -> None:
    Incident.objects.filter(pk=incident.pk).update(summary_html="<p>stale</p>")
    TimelineEvent.objects.filter(incident=incident).update(text_html="<p>stale</p>")

    result = incident_rerender_markdown.delay(incident.pk)
    rows = result.get(timeout=20)

    assert not isinstance(result, EagerResult)  # it went through Redis and the worker
    assert rows == 2  # the incident and its one timeline event
    incident.refresh_from_db()
    assert incident.summary_html == render(SUMMARY)
    assert "<strong>web tier</strong>" in incident.summary_html
    event = TimelineEvent.objects.get(incident=incident)
    assert event.text_html == render("Pager fired for *checkout*.")


def test_rerender_task_for_a_deleted_incident_returns_none(
    celery_worker: object, incident: Incident
) -> None:
    pk = incident.pk
    incident.delete()

    assert incident_rerender_markdown.delay(pk).get(timeout=20) is None
