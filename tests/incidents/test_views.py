from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.templatetags.hindsight import clock
from incidents.models import Cause, FinalNote, Lesson, PathPriority, SolutionOption, StatusItem
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    LessonFactory,
    ServiceFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def filled_incident(rows: int):
    """An incident with `rows` rows in every section of the post-mortem."""
    incident = IncidentFactory(summary_html="<p>Summary here.</p>")
    owner = UserFactory()
    for i in range(rows):
        TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=i))
        parent = CauseFactory(incident=incident, kind=Cause.Kind.CONTRIBUTING, title=f"Factor {i}")
        CauseFactory(incident=incident, parent=parent, title=f"Detail {i}")
        LessonFactory(
            incident=incident, kind=Lesson.Kind.WENT_RIGHT, text_html=f"<p>Lesson {i}</p>"
        )
        item = ActionItemFactory(incident=incident, owner=owner)
        ActionItemFactory(incident=incident, parent=item, title=f"Step {i}")
        SuccessCriterionFactory(incident=incident, text_html=f"<p>Criterion {i}</p>")
        StatusItem.objects.create(
            incident=incident, kind=StatusItem.Kind.WORKING, label=f"Works {i}"
        )
        priority = PathPriority.objects.create(incident=incident, title=f"Priority {i}")
        SolutionOption.objects.create(priority=priority, label="A", title=f"Option {i}")
        FinalNote.objects.create(
            incident=incident, kind=FinalNote.Kind.LEARNED, text_html=f"<p>Note {i}</p>"
        )
    incident.authors.add(owner)
    return incident


class TestAccess:
    @pytest.mark.parametrize("name", ["incidents:list", "incidents:detail"])
    def test_anonymous_is_sent_to_login(self, client, name):
        incident = IncidentFactory()
        args = [incident.reference] if name == "incidents:detail" else []
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_unknown_reference_is_404(self, client):
        client.force_login(UserFactory())
        assert client.get(reverse("incidents:detail", args=["INC-999"])).status_code == 404
        assert client.get(reverse("incidents:detail", args=["nonsense"])).status_code == 404


class TestIncidentPage:
    def test_every_section_is_shown_in_reading_order(self, client):
        incident = filled_incident(1)
        client.force_login(UserFactory())
        html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
        markers = [
            "Summary here.",
            'id="section-timeline"',
            "What&#x27;s working",
            'id="root-cause"',
            "Factor 0",
            "Detail 0",
            'id="lessons"',
            "Lesson 0",
            'id="action-items"',
            "Step 0",
            'id="path-forward"',
            "Option 0",
            'id="success-criteria"',
            "Criterion 0",
            'id="final-notes"',
            "Note 0",
        ]
        positions = [html.find(m) for m in markers]
        assert -1 not in positions, dict(zip(markers, positions, strict=True))
        assert positions == sorted(positions)

    def test_stored_html_is_shown_without_rerendering(self, client):
        incident = IncidentFactory(summary="**source**", summary_html="<p>stored</p>")
        client.force_login(UserFactory())
        html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
        assert "<p>stored</p>" in html
        assert "<strong>source</strong>" not in html

    def test_query_count_does_not_grow_with_rows(self, client):
        client.force_login(UserFactory())
        counts = []
        for rows in (1, 50):
            incident = filled_incident(rows)
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(reverse("incidents:detail", args=[incident.reference]))
            assert response.status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1], counts
        # 18 for the post-mortem (its communications, labels and external references
        # included), 3 for the deployments, other
        # changes and health changes merged into its timeline
        # (tests/incidents/test_system_panel.py pins those), and 1 for the page's change counter
        # that its live updates start from (incidents.live).
        assert counts[0] <= 22


class TestIncidentList:
    def test_list_query_count_does_not_grow_with_rows(self, client):
        client.force_login(UserFactory())
        service = ServiceFactory()
        counts = []
        for total in (1, 50):
            while service.incidents.count() < total:
                ActionItemFactory(incident=IncidentFactory(service=service))
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(reverse("incidents:list"))
            assert response.status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1], counts

    def test_list_shows_reference_and_open_item_count(self, client):
        incident = IncidentFactory(title="Checkout down")
        ActionItemFactory.create_batch(2, incident=incident)
        client.force_login(UserFactory())
        html = client.get(reverse("incidents:list")).content.decode()
        assert incident.reference in html
        assert "Checkout down" in html
        assert "<td>2</td>" in html


class TestCodespans:
    def test_backticks_become_code_and_everything_else_is_escaped(self):
        from core.templatetags.hindsight import codespans

        assert codespans("Ship `dist/_worker.js` <b>now</b>") == (
            "Ship <code>dist/_worker.js</code> &lt;b&gt;now&lt;/b&gt;"
        )
        assert codespans("`<script>`") == "<code>&lt;script&gt;</code>"


class TestTimelineClock:
    """A timeline row shows its date whenever it is not the incident's start day."""

    def test_the_start_day_shows_the_time_alone(self):
        start = datetime(2026, 1, 2, 6, 2, tzinfo=UTC)
        assert clock(start + timedelta(minutes=16), start) == "06:18"

    def test_another_day_shows_the_date(self):
        start = datetime(2026, 1, 2, 23, 50, tzinfo=UTC)
        assert clock(start + timedelta(minutes=20), start) == "2026-01-03 00:10"
        assert clock(start + timedelta(days=336), start) == "2026-12-04 23:50"
