"""The public status pages answer gzip to clients that accept it, with Vary: Accept-Encoding, the
same bytes for every visitor, and an ETag of their own that still gives 304."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from incidents.statuspage.page import documents as page_documents
from tests.factories import HealthCheckFactory, IncidentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def incident() -> Incident:
    incident = IncidentFactory(
        started_at=timezone.now() - timedelta(hours=1),
        status_line="Checkout is slow for some people",
        public_since=timezone.now(),
    )
    HealthCheckFactory(service=incident.service, name="Checkout")
    return incident


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


def test_the_page_answers_gzip_with_vary_and_its_own_etag_and_304(incident):
    plain = Client().get("/status/")
    zipped = Client().get("/status/", headers=GZIP)
    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert "accept-encoding" in vary(plain)
    assert "accept-encoding" in vary(zipped)
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) < len(plain.content) / 2
    assert int(zipped["Content-Length"]) == len(zipped.content)
    assert zipped["ETag"] != plain["ETag"]
    assert b"Checkout is slow" in plain.content

    again = Client().get("/status/", headers={**GZIP, "If-None-Match": zipped["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert "accept-encoding" in vary(again)
    assert Client().get("/status/", headers={"If-None-Match": plain["ETag"]}).status_code == 304
    # A copy of the other representation is not this one.
    assert Client().get("/status/", headers={"If-None-Match": zipped["ETag"]}).status_code == 200


def test_every_visitor_gets_the_same_gzipped_bytes_and_no_request_compresses(incident, monkeypatch):
    first = Client().get("/status/", headers=GZIP)
    monkeypatch.setattr(page_documents, "gzipped", lambda body: pytest.fail("compressed again"))
    second = Client().get("/status/", headers=GZIP)
    assert first.content == second.content
    assert first["ETag"] == second["ETag"]


@pytest.mark.parametrize("header", ["gzip;q=0", "identity", "br", ""])
def test_a_client_that_does_not_accept_gzip_gets_plain_bytes(incident, header):
    response = Client().get("/status/", headers={"Accept-Encoding": header})
    assert "Content-Encoding" not in response
    assert b"Checkout is slow" in response.content


def test_the_incident_page_answers_gzip_and_304(incident):
    url = f"/status/incidents/{incident.reference}/"
    plain = Client().get(url)
    zipped = Client().get(url, headers=GZIP)
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert "accept-encoding" in vary(zipped)
    assert Client().get(url, headers={**GZIP, "If-None-Match": zipped["ETag"]}).status_code == 304


@pytest.mark.parametrize(
    "url", ["/status/history/", "/status/feed.atom", "/status/feed.rss", "/status/summary.json"]
)
def test_history_feeds_and_summary_answer_gzip_with_vary(incident, url):
    plain = Client().get(url)
    zipped = Client().get(url, headers=GZIP)
    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert "accept-encoding" in vary(plain)
    assert "accept-encoding" in vary(zipped)
    assert gzip.decompress(zipped.content) == plain.content
    assert Client().get(url, headers=GZIP).content == zipped.content


def test_the_summarys_preflight_is_left_alone():
    response = Client().options("/status/summary.json", headers=GZIP)
    assert response.status_code == 204
    assert "Content-Encoding" not in response
