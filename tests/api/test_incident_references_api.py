"""External references and labels on incidents: sync jobs record the id another system knows an
incident by, find it again by that id, and cannot make a twin; teams sort incidents by label."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import ExternalReference, Incident, IncidentLabel
from tests.api.test_incidents_api import (
    API,
    bearer,
    errors,
    etag_version,
    if_match,
    problem_type,
    send_json,
    valid_incident_body,
)
from tests.factories import IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return bearer(user_with_role("editor"))


def _create(api, **fields):
    return send_json(api, "post", f"{API}/incidents", valid_incident_body(**fields))


def test_an_incident_is_declared_with_its_references_and_labels(api):
    response = _create(
        api,
        external_references=[
            {"source": "pager", "key": "P1X2Y3", "url": "https://pager.example/P1X2Y3"},
            {"source": "tickets", "key": "OPS-42"},
        ],
        labels=["customer-facing", "payments"],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["labels"] == ["customer-facing", "payments"]
    assert body["external_references"] == [
        {"source": "pager", "key": "P1X2Y3", "url": "https://pager.example/P1X2Y3"},
        {"source": "tickets", "key": "OPS-42", "url": ""},
    ]


def test_a_sync_job_finds_what_it_made_by_its_own_id(api):
    made = _create(api, external_references=[{"source": "pager", "key": "P1"}]).json()
    IncidentFactory()
    found = api.get(f"{API}/incidents", {"external": "pager:P1"}).json()
    assert [row["reference"] for row in found["results"]] == [made["reference"]]
    assert found["results"][0]["external_references"][0]["key"] == "P1"
    assert api.get(f"{API}/incidents", {"external": "pager:P2"}).json()["count"] == 0
    assert api.get(f"{API}/incidents", {"external_source": "pager"}).json()["count"] == 1


def test_a_key_another_incident_holds_is_a_409_naming_it_and_creates_nothing(api):
    first = _create(api, external_references=[{"source": "pager", "key": "P1"}]).json()
    count = Incident.objects.count()
    response = _create(api, title="Again", external_references=[{"source": "pager", "key": "P1"}])
    assert response.status_code == 409
    assert problem_type(response) == "external-reference-taken"
    assert response.json()["incident"] == first["reference"]
    # All or nothing: the incident of the refused request was not made either.
    assert Incident.objects.count() == count


def test_the_same_key_in_another_source_is_another_reference(api):
    assert _create(api, external_references=[{"source": "pager", "key": "7"}]).status_code == 201
    assert _create(api, external_references=[{"source": "tickets", "key": "7"}]).status_code == 201


def test_patch_replaces_the_lists_it_sends_and_keeps_the_ones_it_omits(api):
    made = _create(
        api, external_references=[{"source": "pager", "key": "P1"}], labels=["db"]
    ).json()
    url = f"{API}/incidents/{made['reference']}"
    response = send_json(
        api, "patch", url, {"labels": ["db", "network"]}, **if_match(made["version"])
    )
    assert response.status_code == 200, response.content
    assert response.json()["labels"] == ["db", "network"]
    assert response.json()["external_references"][0]["key"] == "P1"
    assert etag_version(response) == response.json()["version"]
    assert response.json()["version"] > made["version"]

    stale = send_json(api, "patch", url, {"labels": []}, **if_match(made["version"]))
    assert stale.status_code == 412
    assert IncidentLabel.objects.count() == 2

    cleared = send_json(
        api,
        "patch",
        url,
        {"labels": [], "external_references": []},
        **if_match(response.json()["version"]),
    )
    assert cleared.json()["labels"] == []
    assert cleared.json()["external_references"] == []
    assert not ExternalReference.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"labels": ["Has Space"]}, "labels"),
        ({"labels": ["x" * 51]}, "labels"),
        ({"labels": ["ok"] * 21}, "labels"),
        ({"external_references": [{"source": "Pager!", "key": "1"}]}, "external_references"),
        ({"external_references": [{"source": "pager", "key": ""}]}, "external_references"),
        (
            {"external_references": [{"source": "pager", "key": "1", "url": "nope"}]},
            "external_references",
        ),
        (
            {"external_references": [{"source": "pager", "key": "1", "extra": 1}]},
            "external_references",
        ),
    ],
)
def test_bad_labels_and_references_are_a_400_on_the_field(api, body, field):
    assert field in errors(_create(api, **body))
    assert not Incident.objects.exists()


def test_labels_filter_by_all_of_them(api):
    both = _create(api, labels=["db", "network"]).json()
    _create(api, title="Only db", labels=["db"])
    _create(api, title="None")
    one = api.get(f"{API}/incidents", {"label": "db"}).json()
    assert one["count"] == 2
    all_of = api.get(f"{API}/incidents?label=db&label=network").json()
    assert [row["reference"] for row in all_of["results"]] == [both["reference"]]
    assert "label" in errors(api.get(f"{API}/incidents", {"label": "Not A Label"}))
    assert "external" in errors(api.get(f"{API}/incidents", {"external": "no-colon"}))


def test_the_lists_query_count_does_not_grow_with_labels_and_references(api):
    def tagged(n: int) -> None:
        for i in range(n):
            incident = IncidentFactory()
            IncidentLabel.objects.create(incident=incident, name=f"l{i}")
            IncidentLabel.objects.create(incident=incident, name="common")
            ExternalReference.objects.create(incident=incident, source="pager", key=f"P{i}-{n}")

    tagged(1)
    api.get(f"{API}/incidents")  # marks the token used, once
    with CaptureQueriesContext(connection) as one:
        api.get(f"{API}/incidents")
    tagged(49)
    with CaptureQueriesContext(connection) as fifty:
        rows = api.get(f"{API}/incidents").json()["results"]
    assert all(len(row["labels"]) == 2 and len(row["external_references"]) == 1 for row in rows)
    assert len(one) == len(fifty)


def _labelled(*labels: str, key: str) -> Incident:
    incident = IncidentFactory()
    for label in labels:
        IncidentLabel.objects.create(incident=incident, name=label)
    ExternalReference.objects.create(incident=incident, source="pager", key=key)
    return incident


def _labels_and_keys(api, **params) -> dict[str, tuple[list[str], list[str]]]:
    rows = api.get(f"{API}/incidents", {"ordering": "number", **params}).json()["results"]
    return {
        row["reference"]: (row["labels"], [ref["key"] for ref in row["external_references"]])
        for row in rows
    }


def test_a_page_shows_its_own_incidents_labels_not_those_of_incidents_between_them(api):
    # Ids next to each other: the page is read by the range of its ids, which holds the
    # incident in between, left off the page by the filter.
    first = _labelled("shared", "alpha", key="A")
    between = _labelled("beta", key="B")
    last = _labelled("shared", "gamma", key="C")
    assert last.pk - first.pk == 2
    assert _labels_and_keys(api, label="shared") == {
        first.reference: (["alpha", "shared"], ["A"]),
        last.reference: (["gamma", "shared"], ["C"]),
    }
    assert _labels_and_keys(api)[between.reference] == (["beta"], ["B"])


def test_a_page_whose_ids_lie_far_apart_shows_each_incidents_labels(api):
    # Ids further apart than twice the page's length: the page is read by its ids.
    first = _labelled("shared", "alpha", key="A")
    for i in range(6):
        _labelled("other", key=f"O{i}")
    last = _labelled("shared", "gamma", key="C")
    assert last.pk - first.pk == 7
    assert _labels_and_keys(api, label="shared") == {
        first.reference: (["alpha", "shared"], ["A"]),
        last.reference: (["gamma", "shared"], ["C"]),
    }
