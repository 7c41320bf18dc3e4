"""Numbered pages in the back half of a list are read from its other end: `page=last` of a long
list costs what page 1 costs (no OFFSET past every row before it), and holds the same rows a
walk from the front finds."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.test_pagination import bearer, get, rows_of
from tests.factories import ActionItemFactory, DeploymentFactory, IncidentFactory

pytestmark = pytest.mark.django_db

ROWS = 23
SIZE = 5  # pages of 5, 5, 5, 5, 3


def _key(row: dict) -> object:
    return row.get("reference") or row["id"]


@pytest.fixture
def api():
    for _ in range(ROWS):
        incident = IncidentFactory()
        ActionItemFactory(incident=incident)
        DeploymentFactory()
    return bearer("viewer")


@pytest.mark.parametrize(
    ("path", "ordering"),
    [
        ("/incidents", None),
        ("/incidents", "-started_at"),
        ("/incidents", "severity"),  # ties, broken by the list's tiebreak
        ("/action-items", None),  # counted and keyed by plainer querysets (core.lists.LeanList)
        ("/deployments", None),
    ],
)
def test_every_page_holds_the_rows_a_walk_from_the_front_finds(api, path, ordering):
    extra = {"ordering": ordering} if ordering else {}
    whole = [_key(row) for row in rows_of(api, path, page_size=200, **extra)]
    assert len(whole) == ROWS
    paged = []
    for number in range(1, 6):
        paged += [_key(row) for row in rows_of(api, path, page=number, page_size=SIZE, **extra)]
    assert paged == whole
    last = [_key(row) for row in rows_of(api, path, page="last", page_size=SIZE, **extra)]
    assert last == whole[-3:]


def test_the_last_page_is_read_without_an_offset_past_the_rows_before_it(api):
    with CaptureQueriesContext(connection) as captured:
        assert get(api, "/incidents", page="last", page_size=SIZE).status_code == 200
    offsets = [int(n) for q in captured for n in re.findall(r"OFFSET (\d+)", q["sql"])]
    assert offsets in ([], [0]), offsets  # forward, it would be OFFSET 20
