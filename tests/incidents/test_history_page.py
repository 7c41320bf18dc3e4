"""The History page names people by username and rows by their title, never by id ("done by 2")."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import ActionItem, Cause
from incidents.postmortem import services
from tests.factories import (
    DeploymentFactory,
    EnvironmentFactory,
    IncidentFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def viewer(client):
    client.force_login(user_with_role("viewer"))
    return client


def diff_rows(client, incident) -> list[tuple[str, str, str]]:
    html = client.get(reverse("incidents:history", args=[incident.reference])).content.decode()
    return re.findall(
        r'<th scope="row">([^<]*)</th><td><del>(.*?)</del></td><td><ins>(.*?)</ins></td>', html
    )


def test_who_ticked_an_item_and_who_owns_it_are_named_by_username(viewer, incident):
    ana = user_with_role("editor", username="ana")
    bo = user_with_role("editor", username="bo")
    item = services.part_save(row=ActionItem(incident=incident, title="Check"), user=ana)
    services.action_item_assign(item=item, user=ana, owner=bo)
    services.action_item_complete(item=item, user=ana)

    rows = diff_rows(viewer, incident)

    assert ("owner", "—", "bo") in rows
    assert ("done by", "—", "ana") in rows
    assert not [row for row in rows if re.fullmatch(r"\d+", row[2])]


def test_a_deployment_and_a_parent_are_named_as_the_page_names_them(viewer, incident):
    deployment = DeploymentFactory(environment=EnvironmentFactory(service=incident.service))
    top = services.part_save(row=Cause(incident=incident, title="The build was broken"), user=None)
    cause = services.part_save(row=Cause(incident=incident, title="No size check"), user=None)
    cause.parent = top
    cause.deployment = deployment
    services.part_save(row=cause, user=None, fields=["parent", "deployment"])

    rows = diff_rows(viewer, incident)

    assert ("nested under", "—", "The build was broken") in rows
    assert ("deployment", "—", str(deployment)) in rows


def test_a_person_since_deleted_is_said_to_be_gone_not_numbered(viewer, incident):
    gone = user_with_role("editor", username="gone")
    item = services.part_save(row=ActionItem(incident=incident, title="Check"), user=None)
    services.action_item_assign(item=item, user=None, owner=gone)
    gone.delete()

    assert ("owner", "—", "(a deleted user)") in diff_rows(viewer, incident)


def test_naming_people_costs_queries_per_kind_of_row_not_per_change(viewer, incident):
    url = reverse("incidents:history", args=[incident.reference])
    item = services.part_save(row=ActionItem(incident=incident, title="Check"), user=None)
    counts = []
    for round_ in range(2):
        for i in range(10):
            owner = user_with_role("editor", username=f"owner-{round_}-{i}")
            services.action_item_assign(item=item, user=owner, owner=owner)
            services.action_item_complete(item=item, user=owner)
            services.action_item_reopen(item=item, user=owner)
        with CaptureQueriesContext(connection) as queries:
            assert viewer.get(url).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
