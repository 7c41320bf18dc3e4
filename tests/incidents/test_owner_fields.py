"""Owner fields never list every user: the action items page and the incident page's action item
form take a typed username (suggested as someone types), so a page's size does not grow with the
number of people who can sign in."""

from __future__ import annotations

import factory
import pytest
from django.urls import reverse

from core.roles import Role
from incidents.models import ActionItem
from tests.factories import ActionItemFactory, IncidentFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db

PAGE = reverse("incidents:action_items")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def editor_client(client):
    client.force_login(user_with_role(Role.EDITOR, username="editor"))
    return client


def more_people(total: int) -> None:
    UserFactory.create_batch(total, username=factory.Sequence(lambda n: f"teammate{n:04d}"))


def test_the_action_items_page_does_not_grow_with_the_number_of_users(editor_client):
    owner = UserFactory(username="owner")
    ActionItemFactory.create_batch(50, owner=owner)
    few = editor_client.get(PAGE)
    assert few.status_code == 200
    more_people(300)
    many = editor_client.get(PAGE)
    assert many.content.decode().count('class="ai-title-text"') == 50
    assert len(many.content) == len(few.content)
    assert "teammate" not in many.content.decode()


def test_each_owner_box_asks_the_people_endpoint_and_has_its_own_suggestions(editor_client):
    item = ActionItemFactory(owner=UserFactory(username="owner"))
    html = editor_client.get(PAGE).content.decode()
    assert f'list="owner-{item.pk}-people" data-people="{reverse("people")}"' in html
    assert f'<datalist id="owner-{item.pk}-people"></datalist>' in html
    assert 'name="owner" value="owner"' in html


def test_the_incident_pages_action_item_form_takes_a_username_not_a_list(editor_client):
    incident = IncidentFactory()
    more_people(300)
    url = reverse("incidents:row_new", args=[incident.reference, "actions"])
    html = editor_client.get(url, **HTMX).content.decode()
    assert "teammate" not in html
    assert 'name="owner"' in html
    assert 'list="id_owner-people"' in html
    assert '<datalist id="id_owner-people"></datalist>' in html


def test_the_action_item_form_saves_a_typed_owner(editor_client):
    incident = IncidentFactory()
    dana = UserFactory(username="dana")
    url = reverse("incidents:row_new", args=[incident.reference, "actions"])
    data = {"title": "Alert on the worker", "horizon": "today", "priority": "p1", "kind": "prevent"}
    response = editor_client.post(url, {**data, "owner": "dana"}, **HTMX)
    assert response.status_code == 200, response.content.decode()[:1500]
    assert ActionItem.objects.get(incident=incident).owner == dana


def test_the_action_item_form_refuses_an_unknown_owner_beside_the_field(editor_client):
    incident = IncidentFactory()
    url = reverse("incidents:row_new", args=[incident.reference, "actions"])
    data = {"title": "Alert on the worker", "horizon": "today", "priority": "p1", "kind": "prevent"}
    response = editor_client.post(url, {**data, "owner": "nobody-here"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<label for="id_owner"') : html.index('id="id_owner_error"') + 200]
    assert 'value="nobody-here"' in field
    assert "No active user has the username “nobody-here”." in field
    assert not ActionItem.objects.filter(incident=incident).exists()


def test_editing_an_item_shows_its_owners_username(editor_client):
    item = ActionItemFactory(owner=UserFactory(username="dana"))
    url = reverse("incidents:row_edit", args=[item.incident.reference, "actions", item.pk])
    html = editor_client.get(url, **HTMX).content.decode()
    assert 'name="owner" value="dana"' in html
