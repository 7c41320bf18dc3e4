"""Done when: a sync job that reads only /events, through the API with a token, holds the same
incidents and action items as the lists show, after creates, edits and deletes made through the
page and through the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from incidents.models import Incident
from tests.api.test_incidents_api import API, bearer, if_match, send_json
from tests.factories import ServiceFactory, user_with_role
from tests.test_admin import admin_url

pytestmark = pytest.mark.django_db


class SyncJob:
    """What a tooling engineer writes: follow the feed, keep a copy of each subject."""

    def __init__(self, api) -> None:
        self.api = api
        self.cursor: str | None = None
        self.incidents: dict[str, dict[str, Any]] = {}
        self.action_items: dict[int, dict[str, Any]] = {}

    def run(self) -> None:
        while True:
            params = {"limit": "3"} | ({"after": self.cursor} if self.cursor else {})
            response = self.api.get(f"{API}/events", params)
            assert response.status_code == 200, response.content
            page = response.json()
            for event in page["results"]:
                self.apply(event)
            self.cursor = page["next"]
            if len(page["results"]) < 3:
                return

    def apply(self, event: dict[str, Any]) -> None:
        kind, data = event["kind"], event["data"]
        if kind == "incident.deleted":
            self.incidents.pop(event["subject_id"], None)
        elif event["subject"] == "incident":
            self.incidents[event["subject_id"]] = data
        elif kind == "action_item.deleted":
            self.action_items.pop(int(event["subject_id"]), None)
        elif event["subject"] == "action_item":
            self.action_items[int(event["subject_id"])] = data


def _all(api, url: str, **params: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        response = api.get(url, {**params, "page": str(page), "page_size": "100"})
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body.get("next"):
            return rows
        page += 1


INCIDENT_FIELDS = ("title", "status", "severity", "postmortem_state", "version", "duplicate_of")
ITEM_FIELDS = ("title", "status", "incident", "owner", "priority", "version")


def _as_lists(api) -> tuple[dict, dict]:
    incidents = {
        row["reference"]: tuple(row[f] for f in INCIDENT_FIELDS)
        for row in _all(api, f"{API}/incidents", duplicates="include")
    }
    items = {
        row["id"]: tuple(row[f] for f in ITEM_FIELDS) for row in _all(api, f"{API}/action-items")
    }
    return incidents, items


def _as_synced(job: SyncJob) -> tuple[dict, dict]:
    return (
        {ref: tuple(d[f] for f in INCIDENT_FIELDS) for ref, d in job.incidents.items()},
        {pk: tuple(d[f] for f in ITEM_FIELDS) for pk, d in job.action_items.items()},
    )


def test_a_sync_loop_on_the_feed_alone_rebuilds_the_incidents_and_action_items_the_lists_show():
    service = ServiceFactory(slug="shop")
    editor = user_with_role(Role.EDITOR)
    admin = user_with_role(Role.ADMIN, is_staff=True)  # may open the admin
    api, admin_api, reader = bearer(editor), bearer(admin), bearer(editor, scope="read")
    page = Client()
    page.force_login(editor)
    job = SyncJob(reader)

    # Declared through the page and through the API.
    response = page.post(
        reverse("incidents:declare"),
        {"service": service.pk, "title": "Checkout fails", "severity": "sev2",
         "started_at": "2026-03-10T11:42"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    made = api.post(
        f"{API}/incidents",
        {"service": "shop", "title": "Search is slow", "started_at": "2026-03-11T09:00:00Z"},
        format="json",
    )
    assert made.status_code == 201, made.content
    first, second = "INC-1", made.json()["reference"]
    job.run()
    assert _as_synced(job) == _as_lists(api)

    # Action items through the API, and a tick and a delete through the page.
    ids = []
    for title in ("Add a build check", "Alert on 5xx", "Write a runbook"):
        made = api.post(f"{API}/incidents/{first}/action-items", {"title": title}, format="json")
        assert made.status_code == 201, made.content
        ids.append(made.json()["id"])
    step = api.post(
        f"{API}/incidents/{second}/action-items", {"title": "Profile the query"}, format="json"
    )
    assert step.status_code == 201, step.content
    ticked = page.post(
        reverse("incidents:action_item_status", args=[first, ids[0]]), {"to": "done"}
    )
    assert ticked.status_code in (200, 302), ticked.content
    gone = page.post(reverse("incidents:row_delete", args=[first, "actions", ids[1]]))
    assert gone.status_code in (200, 302), gone.content
    job.run()
    assert _as_synced(job) == _as_lists(api)

    # Edits: a field through the API, a resolve, an item's change, then deletes through the API.
    version = api.get(f"{API}/incidents/{first}").json()["version"]
    edited = send_json(
        api, "patch", f"{API}/incidents/{first}", {"title": "Checkout fails for everyone"},
        **if_match(version),
    )  # fmt: skip
    assert edited.status_code == 200, edited.content
    resolved = api.post(f"{API}/incidents/{first}/resolve", {}, format="json")
    assert resolved.status_code == 200, resolved.content
    item = api.get(f"{API}/incidents/{first}/action-items/{ids[2]}")
    changed = send_json(
        api, "patch", f"{API}/incidents/{first}/action-items/{ids[2]}",
        {"title": "Write the runbook"}, **if_match(item.json()["version"]),
    )  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert api.delete(f"{API}/incidents/{second}").status_code == 403  # an editor may not
    assert admin_api.delete(f"{API}/incidents/{second}").status_code == 204
    # And one deleted in the admin, with its action item.
    third = api.post(
        f"{API}/incidents",
        {"service": "shop", "title": "Logins time out", "started_at": "2026-03-12T08:00:00Z"},
        format="json",
    ).json()["reference"]
    api.post(f"{API}/incidents/{third}/action-items", {"title": "Raise the pool"}, format="json")
    job.run()
    admin_page = Client()
    admin_page.force_login(admin)
    pk = Incident.objects.get(number=int(third.removeprefix("INC-"))).pk
    deleted = admin_page.post(admin_url(Incident, "delete", pk), {"post": "yes"})
    assert deleted.status_code == 302, deleted.content
    assert deleted["Location"] == admin_url(Incident, "changelist")
    job.run()
    incidents, items = _as_lists(api)
    assert _as_synced(job) == (incidents, items)
    assert set(incidents) == {first}
    assert set(items) == {ids[0], ids[2]}

    # Nothing new: the cursor stays, and the next run reads nothing.
    cursor = job.cursor
    job.run()
    assert job.cursor == cursor
