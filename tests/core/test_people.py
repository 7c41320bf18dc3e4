"""The people an owner field suggests as someone types: a login-only JSON answer of at most ten
active users whose username or name starts with what was typed, in a fixed number of queries."""

from __future__ import annotations

import factory
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.forms import PersonField
from core.selectors import PEOPLE_SUGGESTED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("people")


def usernames(client, typed: str) -> list[str]:
    response = client.get(URL, {"q": typed})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [person["username"] for person in response.json()["people"]]


@pytest.fixture
def signed_in(client):
    client.force_login(UserFactory(username="reader"))
    return client


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL, {"q": "a"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_username_prefix_in_any_case_finds_its_people_by_username(signed_in):
    UserFactory(username="dana")
    UserFactory(username="dan")
    UserFactory(username="adam")
    assert usernames(signed_in, "DA") == ["dan", "dana"]


def test_first_and_last_names_are_searched_and_sent_with_the_username(signed_in):
    UserFactory(username="u1", first_name="Priya", last_name="Shah")
    UserFactory(username="u2", first_name="Sam", last_name="Pereira")
    UserFactory(username="u3", first_name="Olu", last_name="Ade")
    response = signed_in.get(URL, {"q": "p"})
    assert response.json() == {
        "people": [
            {"username": "u1", "name": "Priya Shah"},
            {"username": "u2", "name": "Sam Pereira"},
        ]
    }


def test_inactive_users_are_not_suggested(signed_in):
    UserFactory(username="gone", is_active=False)
    UserFactory(username="gorm")
    assert usernames(signed_in, "go") == ["gorm"]


def test_an_empty_prefix_suggests_nobody(signed_in):
    UserFactory(username="anyone")
    assert usernames(signed_in, "") == []
    assert usernames(signed_in, "   ") == []


def test_at_most_ten_are_suggested_however_many_match(signed_in):
    UserFactory.create_batch(30, username=factory.Sequence(lambda n: f"ops{n:03d}"))
    assert len(usernames(signed_in, "ops")) == PEOPLE_SUGGESTED == 10


def test_the_answer_costs_the_same_queries_for_one_match_and_fifty(signed_in):
    counts = []
    for total in (1, 50):
        UserFactory.create_batch(total, username=factory.Sequence(lambda n, t=total: f"m{t}-{n}"))
        with CaptureQueriesContext(connection) as ctx:
            found = usernames(signed_in, f"m{total}-")
        assert len(found) == min(total, PEOPLE_SUGGESTED)
        counts.append(len(ctx.captured_queries))
    # Session, user, the people: one query for the suggestions themselves.
    assert counts == [3, 3], [q["sql"] for q in ctx.captured_queries]


def test_the_field_takes_a_username_and_refuses_an_unknown_one_naming_it():
    dana = UserFactory(username="dana")
    field = PersonField(required=False)
    assert field.clean("dana") == dana
    assert field.clean("  DANA ") == dana
    assert field.clean("") is None
    with pytest.raises(ValidationError, match=r"No active user has the username “dan”\."):
        field.clean("dan")


def test_the_field_refuses_a_name_two_people_share_in_different_cases():
    UserFactory(username="Kim")
    UserFactory(username="kim")
    field = PersonField(required=False)
    assert field.clean("kim").username == "kim"
    with pytest.raises(ValidationError, match="No active user"):
        field.clean("KIM")
