"""The incident page's table of contents: every part, each list with the rows the page shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import (
    Cause,
    FinalNote,
    Lesson,
    PathPriority,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services
from tests.factories import (
    T0,
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    LessonFactory,
    TimelineEventFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

ENTRY = re.compile(
    r'<li><a href="#([^"]+)"(?: data-rows="[^"]*")?>([^<]+?)(?: <span class="count">(\d+)</span>)?</a></li>'
)


def contents(client, incident) -> list[tuple[str, str, int | None]]:
    html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
    toc = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    return [
        (anchor, label, None if count == "" else int(count))
        for anchor, label, count in ENTRY.findall(toc)
    ]


@pytest.fixture
def incident():
    incident = IncidentFactory(summary="Short.")
    top = CauseFactory(incident=incident, title="Missing file check")
    CauseFactory(incident=incident, parent=top, title="A detail under it")
    CauseFactory(incident=incident, title="No smoke test")
    LessonFactory.create_batch(3, incident=incident)
    item = ActionItemFactory(incident=incident)
    ActionItemFactory(incident=incident, parent=item)  # a step, shown inside its item
    TimelineEventFactory(incident=incident, text="Deploy finished")
    TimelineEventFactory(
        incident=incident,
        text="Status set to investigating",
        source=TimelineEvent.Source.SYSTEM,
        kind=TimelineEvent.Kind.STATUS_CHANGE,
        hidden=True,
    )
    return incident


def test_every_part_is_listed_in_reading_order_with_the_count_of_its_rows(client, incident):
    client.force_login(user_with_role("editor"))

    assert contents(client, incident) == [
        ("prose-impact", "Impact summary", None),
        ("prose-summary", "Summary", None),
        ("section-timeline", "What happened", 2),
        ("section-system", "Deployments and health", None),
        ("prose-resolution", "Resolution", None),
        ("section-status", "Current status", 0),
        ("section-causes", "Root cause analysis", 2),
        ("section-lessons", "Lessons", 3),
        ("section-actions", "Action items", 1),
        ("section-priorities", "Path forward", 0),
        ("section-communications", "Communications", 0),
        ("section-criteria", "Success criteria", 0),
        ("section-notes", "Final notes", 0),
        ("prose-next_step", "Next step", None),
    ]


def test_each_anchor_is_on_the_page(client, incident):
    client.force_login(user_with_role("viewer"))
    html = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()

    for anchor, _label, _count in contents(client, incident):
        assert f'id="{anchor}"' in html, anchor


def test_a_viewer_does_not_count_the_hidden_line_they_do_not_see(client, incident):
    client.force_login(user_with_role("viewer"))

    assert ("section-timeline", "What happened", 1) in contents(client, incident)


def _fill(incident, rows: int) -> None:
    for n in range(rows):
        services.part_save(
            row=StatusItem(incident=incident, kind=StatusItem.Kind.CURRENT, label=f"s{n}"),
            user=None,
        )
        services.part_save(
            row=Cause(incident=incident, kind=Cause.Kind.CONTRIBUTING, title=f"c{n}"), user=None
        )
        services.part_save(
            row=Lesson(incident=incident, kind=Lesson.Kind.WENT_WRONG, text=f"l{n}"), user=None
        )
        services.part_save(row=PathPriority(incident=incident, title=f"p{n}"), user=None)
        services.part_save(row=SuccessCriterion(incident=incident, text=f"k{n}"), user=None)
        services.part_save(
            row=FinalNote(incident=incident, kind=FinalNote.Kind.OTHER, text=f"n{n}"), user=None
        )
        services.timeline_event_add(
            incident=incident, occurred_at=T0 + timedelta(minutes=n), text=f"e{n}"
        )
        ActionItemFactory(incident=incident)


def test_the_contents_cost_no_query_of_their_own_at_1_or_50_rows(client):
    client.force_login(user_with_role("editor"))
    one, fifty = IncidentFactory(), IncidentFactory()
    _fill(one, 1)
    _fill(fifty, 50)
    counts = []
    for incident in (one, fifty):
        with CaptureQueriesContext(connection) as page:
            listed = contents(client, incident)
        counts.append(len(page.captured_queries))
        assert {label: count for _a, label, count in listed if count is not None} == {
            "What happened": len(incident.timeline_events.all()),
            "Current status": len(incident.status_items.all()),
            "Root cause analysis": len(incident.causes.all()),
            "Lessons": len(incident.lessons.all()),
            "Action items": len(incident.action_items.all()),
            "Path forward": len(incident.priorities.all()),
            "Communications": 0,
            "Success criteria": len(incident.success_criteria.all()),
            "Final notes": len(incident.final_notes.all()),
        }
    assert counts[0] == counts[1]
