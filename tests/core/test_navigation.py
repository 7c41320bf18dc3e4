"""The main navigation: one list in core.navigation, drawn by base.html on every page."""

from __future__ import annotations

import re

import pytest

from core.navigation import NAVIGATION
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>')


def _nav(html: str) -> list[tuple[str, str, bool]]:
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return [(label, url, bool(current)) for url, current, label in LINK.findall(nav)]


def test_the_page_shown_is_marked_current_and_only_it(client):
    client.force_login(user_with_role("viewer"))
    links = _nav(client.get("/action-items/").content.decode())
    assert [label for label, _url, current in links if current] == ["Action items"]
    assert ("Incidents", "/incidents/", False) in links


def test_an_incident_page_lights_up_incidents(client, demo_loaded):
    client.force_login(user_with_role("viewer"))
    links = _nav(client.get("/incidents/INC-1/").content.decode())
    assert [label for label, _url, current in links if current] == ["Incidents"]


def test_the_admin_link_is_for_staff_only(client):
    viewer = user_with_role("viewer")
    client.force_login(viewer)
    assert "Admin" not in [label for label, _u, _c in _nav(client.get("/").content.decode())]
    viewer.is_staff = True
    viewer.save()
    labels = [label for label, _u, _c in _nav(client.get("/").content.decode())]
    assert labels == [item.label for item in NAVIGATION]


def test_signed_out_pages_have_no_navigation(client):
    html = client.get("/login/").content.decode()
    assert "<nav" not in html
