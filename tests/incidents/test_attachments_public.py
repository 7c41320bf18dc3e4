"""The public status page and its feeds never show attachments: the files are served only
behind the login, so a public reader would get a broken image and a link to the login page,
and the file's name besides."""

from __future__ import annotations

import pytest
from django.test import Client

from core.rendering import render, without_attachments
from tests.incidents.test_status_page import (  # noqa: F401  # the clock, an autouse fixture
    clock,
    communication,
    incident_page,
    resolved_incident,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

WITH_FILES = (
    "Latency rose for 16 minutes.\n\n"
    "![p99 graph.png](/attachments/7/p99%20graph.png)\n\n"
    "The [worker log](/attachments/8/worker.log) shows the missing file; "
    "the [runbook](https://example.com/runbook) says what to do."
)


def test_images_are_left_out_and_links_keep_their_text():
    html = without_attachments(render(WITH_FILES))

    assert "/attachments/" not in html
    assert "<img" not in html
    assert "worker log" in html
    assert 'href="https://example.com/runbook"' in html
    assert "Latency rose for 16 minutes." in html


def test_html_with_no_attachment_is_returned_as_it_is():
    html = render("Rolled back at **06:18**.")
    assert without_attachments(html) is html


def test_the_public_incident_page_and_feed_show_no_attachment(client):
    incident = resolved_incident(
        days_ago=3,
        published=True,
        summary=WITH_FILES,
        impact="Checkout failed: ![x](/attachments/9/x.png)",
    )
    assert incident.resolved_at is not None
    communication(
        incident, "Resolved", at=incident.resolved_at, body="See ![graph](/attachments/7/g.png)"
    )

    page = incident_page(incident, Client())
    feed = Client().get("/status/feed.atom")

    assert "Latency rose for 16 minutes." in page
    assert "Checkout failed" in page
    assert "/attachments/" not in page
    assert feed.status_code == 200
    assert "Latency rose for 16 minutes." in feed.content.decode()
    assert "/attachments/" not in feed.content.decode()
