"""The beat's sweep builds the search documents the per-change refreshes miss: incidents written
before search documents existed (an upgrade needs no command) and refreshes whose task was lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.insights.search import incident_search
from incidents.insights.services import STALE_RETRY, search_documents_sweep
from incidents.models import Incident, SearchDocument
from tests.factories import IncidentFactory, LessonFactory

pytestmark = pytest.mark.django_db


def found(word: str) -> list[int]:
    return list(incident_search(Incident.objects.all(), word).values_list("number", flat=True))


def test_incidents_from_before_search_documents_are_found_after_one_sweep():
    old = IncidentFactory(title="Checkout down")
    LessonFactory(incident=old, text="Nobody watched the zeppelin queue.")
    assert not SearchDocument.objects.exists()  # written around the services, as before
    assert found("zeppelin") == []

    assert search_documents_sweep() == 1
    assert found("zeppelin") == [old.number]
    assert search_documents_sweep() == 0  # a second run finds nothing to do


def test_a_refresh_whose_task_was_lost_is_done_by_the_sweep():
    incident = IncidentFactory(title="Search slow")
    search_documents_sweep()
    LessonFactory(incident=incident, text="The dirigible cache was cold.")
    # A refresh was asked for long ago, and its task never ran.
    SearchDocument.objects.filter(incident=incident).update(
        stale_since=timezone.now() - STALE_RETRY - timedelta(seconds=1)
    )
    assert found("dirigible") == []

    assert search_documents_sweep() == 1
    assert found("dirigible") == [incident.number]
    assert SearchDocument.objects.get(incident=incident).stale_since is None


def test_a_refresh_asked_for_a_moment_ago_is_left_to_its_task():
    incident = IncidentFactory()
    search_documents_sweep()
    SearchDocument.objects.filter(incident=incident).update(stale_since=timezone.now())
    assert search_documents_sweep() == 0
