"""KeptStatusPages answers a fresh kept status page (or public incident page) before the rest of
the middleware stack, with the same bytes and headers as the view, and leaves everything else to
the view: a missing, stale or expired row, other methods, other paths."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from incidents.models import Incident, PublicDocument
from incidents.statuspage.page import (
    CLAIM_SECONDS,
    FRESH_SECONDS,
    PAGE_KEY,
    public_documents_mark_stale,
)
from incidents.statuspage.views import public as public_views
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GZIP = {"Accept-Encoding": "gzip"}
# Set per response (the date, the request's own id), or by the test client: not part of what is
# compared.
NOT_COMPARED = {"date", "x-request-id"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def incident() -> Incident:
    return IncidentFactory(
        started_at=NOW - timedelta(hours=1),
        status_line="Checkout is slow for some people",
        public_since=NOW,
    )


class ViewCalls:
    def __init__(self, monkeypatch) -> None:
        self.count = 0
        answer = public_views.answer_document

        def counted(*args, **kwargs):
            self.count += 1
            return answer(*args, **kwargs)

        monkeypatch.setattr(public_views, "answer_document", counted)


def headers(response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in NOT_COMPARED}


@pytest.mark.parametrize("accept", [{}, GZIP])
def test_a_fresh_page_is_answered_in_one_query_without_the_view_and_alike(
    incident, monkeypatch, django_assert_num_queries, accept
):
    view = ViewCalls(monkeypatch)
    built = Client().get("/status/", headers=accept)
    assert view.count == 1
    with django_assert_num_queries(1):
        kept = Client().get("/status/", headers=accept)
    assert view.count == 1
    assert kept.status_code == built.status_code == 200
    assert kept.content == built.content
    assert headers(kept) == headers(built)
    assert kept["X-Frame-Options"] == "DENY"
    assert "accept-encoding" in kept["Vary"].lower()


def test_a_repeat_visitor_gets_304_from_it_as_from_the_view(incident, monkeypatch):
    view = ViewCalls(monkeypatch)
    first = Client().get("/status/")
    again = Client().get("/status/", headers={"If-None-Match": first["ETag"]})
    assert view.count == 1
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_signed_in_person_gets_the_same_answer(incident):
    anonymous = Client().get("/status/")
    staff = Client()
    staff.force_login(UserFactory())
    signed_in = staff.get("/status/")
    assert signed_in.content == anonymous.content
    assert headers(signed_in) == headers(anonymous)
    assert not signed_in.cookies


def test_a_stale_or_expired_page_goes_to_the_view_which_rebuilds_it(incident, monkeypatch, clock):
    view = ViewCalls(monkeypatch)
    Client().get("/status/")
    public_documents_mark_stale()
    Client().get("/status/")
    assert view.count == 2
    Client().get("/status/")
    assert view.count == 2
    clock.shift(timedelta(seconds=FRESH_SECONDS))
    Client().get("/status/")
    assert view.count == 3


@pytest.mark.parametrize("spelling", ["{ref}", "{number}", "{lower}"])
def test_a_public_incidents_page_is_answered_under_every_spelling_of_its_reference(
    incident, monkeypatch, spelling
):
    view = ViewCalls(monkeypatch)
    built = Client().get(f"/status/incidents/{incident.reference}/")
    path = spelling.format(
        ref=incident.reference, number=incident.number, lower=incident.reference.lower()
    )
    kept = Client().get(f"/status/incidents/{path}/")
    assert view.count == 1
    assert kept.content == built.content
    assert headers(kept) == headers(built)


def test_other_methods_paths_and_unknown_incidents_go_to_the_views(incident, monkeypatch):
    Client().get("/status/")
    assert Client().post("/status/").status_code == 405
    assert Client().head("/status/").status_code == 200
    assert Client().get("/status/incidents/INC-999999/").status_code == 404
    assert Client().get("/status/incidents/nonsense/").status_code == 404
    assert Client().get("/status/history/").status_code == 200


def test_while_another_process_rebuilds_it_serves_the_previous_bytes_without_the_view(
    incident, monkeypatch, clock
):
    view = ViewCalls(monkeypatch)
    first = Client().get("/status/")
    clock.shift(timedelta(seconds=FRESH_SECONDS))
    PublicDocument.objects.filter(key=PAGE_KEY).update(
        claimed_until=NOW + timedelta(seconds=FRESH_SECONDS + CLAIM_SECONDS)
    )
    during = Client().get("/status/")
    assert view.count == 1
    assert during.content == first.content
    assert during["ETag"] == first["ETag"]
