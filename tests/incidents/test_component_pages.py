"""Components on the team's pages: the incident page's communications name the components an
update sets and the status each gets; and the components pages cost the same queries for one
component as for fifty."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.communications.services import communication_approve, communication_send
from incidents.models import Audience, Communication, Component, ComponentGroup, Phase
from incidents.statuspage import services
from tests.factories import HealthCheckFactory, IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    client.force_login(user_with_role("editor"))
    return client


def update(incident, statuses: dict[int, str]) -> Communication:
    draft = Communication.objects.create(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        phase=Phase.INVESTIGATING,
        subject="Checkout is failing",
        body="We are looking into it.",
    )
    services.communication_components_set(communication=draft, statuses=statuses)
    return draft


def section(client, incident) -> str:
    response = client.get(f"/incidents/{incident.reference}/")
    assert response.status_code == 200
    html = response.content.decode()
    return html.split('id="section-communications"')[1].split("</section>")[0]


def named(html: str) -> list[str]:
    return [
        " ".join(re.sub(r"<[^>]+>", " ", item).split())
        for item in re.findall(r'<div class="communication-components">.*?</div>', html, re.S)
    ]


# --- the incident page's communications --------------------------------------------------------


def test_the_communications_section_names_each_component_and_the_status_it_gets(editor):
    group = ComponentGroup.objects.create(name="MoodMash")
    web = Component.objects.create(name="Web", group=group)
    api = Component.objects.create(name="API", group=group, order=1)
    billing = Component.objects.create(name="Billing")
    incident = IncidentFactory(started_at=timezone.now() - timedelta(minutes=5))
    draft = update(incident, {web.pk: "major_outage", api.pk: "degraded_performance"})
    assert named(section(editor, incident)) == [
        "Sets when published: MoodMash: Web Major outage MoodMash: API Degraded performance"
    ]
    communication_approve(communication=draft, user=None)
    communication_send(communication=draft, user=None)
    assert named(section(editor, incident)) == [
        "Set: MoodMash: Web Major outage MoodMash: API Degraded performance"
    ]
    assert f'data-component="{billing.pk}"' not in section(editor, incident)


def test_an_update_that_names_no_component_shows_no_list(editor):
    incident = IncidentFactory(started_at=timezone.now() - timedelta(minutes=5))
    update(incident, {})
    assert named(section(editor, incident)) == []


def test_the_incident_page_costs_the_same_queries_naming_1_or_50_components(editor):
    incident = IncidentFactory(started_at=timezone.now() - timedelta(minutes=5))
    group = ComponentGroup.objects.create(name="MoodMash")
    counts = {}
    for n in (1, 50):
        parts = [
            Component.objects.create(name=f"Part {n}-{i}", group=group if i % 2 else None)
            for i in range(n)
        ]
        update(incident, {part.pk: "partial_outage" for part in parts})
        with CaptureQueriesContext(connection) as captured:
            html = section(editor, incident)
        counts[n] = len(captured.captured_queries)
        assert html.count("Partial outage") >= n
    assert counts[1] == counts[50], counts


# --- the components pages ----------------------------------------------------------------------


def _components(n: int) -> tuple[ComponentGroup, Component]:
    group = ComponentGroup.objects.create(name="MoodMash")
    for g in range(n):
        ComponentGroup.objects.create(name=f"Product {g}")
    made = None
    for i in range(n):
        check = HealthCheckFactory(name=f"Check {i}")
        made = Component.objects.create(name=f"Part {i}", group=group if i % 2 else None)
        made.health_checks.set([check])
    assert made is not None
    return group, made


# Session, user, its permissions (can_edit); then the page's own.
LIST_QUERIES = 4 + 5  # components with group and author; three for proposals; the groups
FORM_QUERIES = 4 + 4  # the row and the checks it watches; the group and check choices
GROUP_FORM_QUERIES = 4 + 1  # the row
DELETE_QUERIES = 4 + 1


@pytest.mark.parametrize("n", [1, 50])
def test_the_components_pages_cost_fixed_queries(editor, django_assert_num_queries, n):
    group, component = _components(n)
    with django_assert_num_queries(LIST_QUERIES):
        response = editor.get("/components/")
    assert response.content.count(b"<tr data-component=") == n
    with django_assert_num_queries(FORM_QUERIES):
        assert editor.get(f"/components/{component.pk}/edit/").status_code == 200
    with django_assert_num_queries(FORM_QUERIES - 2):
        assert editor.get("/components/new/").status_code == 200
    with django_assert_num_queries(GROUP_FORM_QUERIES):
        assert editor.get(f"/components/groups/{group.pk}/edit/").status_code == 200
    with django_assert_num_queries(GROUP_FORM_QUERIES - 1):
        assert editor.get("/components/groups/new/").status_code == 200
    with django_assert_num_queries(DELETE_QUERIES):
        assert editor.get(f"/components/groups/{group.pk}/delete/").status_code == 200
    with django_assert_num_queries(DELETE_QUERIES):
        assert editor.get(f"/components/{component.pk}/delete/").status_code == 200
