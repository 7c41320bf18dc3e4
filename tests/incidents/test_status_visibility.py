"""Nothing is public until the team says so: an incident reaches the status page and its feeds only
when an editor publishes a status page update for it, or marks it public. Withdrawing its last
published update takes it off again, unless it was marked public; making it internal takes it
off whatever stands. The incident page says which it is, next to what the public would read, and
editors switch it there or over the API (tests/api/test_visibility_api.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from incidents.communications import services as communications
from incidents.models import Audience, Communication, Incident, Phase, TimelineEvent
from incidents.statuspage import services
from tests.api.test_incidents_api import (
    API,
    bearer,
    incident_url,
    openapi,  # noqa: F401  (a fixture)
    send_json,
)
from tests.factories import (
    EnvironmentFactory,
    HealthCheckFactory,
    IncidentFactory,
    ServiceFactory,
    user_with_role,
)
from tests.incidents.test_auto_draft import Recorder
from tests.incidents.test_status_page import (
    NOW,
    clock,  # noqa: F401  (fixture)
    resolved_incident,
    result,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "eager")]

ATOM = "/status/feed.atom"
RSS = "/status/feed.rss"


@pytest.fixture
def editor():
    return user_with_role("editor", username="sam")


@pytest.fixture
def incident() -> Incident:
    incident = IncidentFactory(
        number=41,
        service=ServiceFactory(name="Storefront", slug="storefront"),
        title="SECRET-TITLE: the cache stampede",
        started_at=NOW - timedelta(hours=1),
        status_line="Pages load slowly",
    )
    return incident


def public_texts() -> dict[str, str]:
    return {url: Client().get(url).content.decode() for url in ("/status/", ATOM, RSS)}


def where_shown(incident: Incident) -> list[str]:
    """The public URLs that show the incident."""
    return [url for url, text in public_texts().items() if f"incident-{incident.number}" in text]


ALL = ["/status/", ATOM, RSS]


def publish_update(incident: Incident, subject: str, user, capture) -> Communication:
    """A status page update drafted, approved and published through the services."""
    draft = Communication(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        phase=Phase.INVESTIGATING,
        subject=subject,
        body="We are looking into it.",
    )
    draft.render_markdown()
    draft.save()
    with capture(execute=True):
        communications.communication_approve(communication=draft, user=user)
        communications.communication_send(communication=draft, user=user)
    return draft


def refreshed(incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident


# --- what is public --------------------------------------------------------------------------


def test_an_incident_declared_through_the_api_is_internal_until_an_update_is_published(
    editor, django_capture_on_commit_callbacks
):
    ServiceFactory(slug="checkout", name="Checkout")
    api = bearer(editor)
    body = {
        "service": "checkout",
        "title": "SECRET-TITLE: payments fail",
        "started_at": (NOW - timedelta(minutes=5)).isoformat(),
    }
    declared = send_json(api, "post", f"{API}/incidents", body)
    assert declared.status_code == 201, declared.content
    assert declared.json()["public"] is False
    assert declared.json()["public_since"] is None
    incident = Incident.objects.get()

    assert where_shown(incident) == []
    page = public_texts()["/status/"]
    assert "Disruption to Checkout" not in page
    assert "An incident is being handled" not in page

    publish_update(incident, "Payments are failing", editor, django_capture_on_commit_callbacks)
    assert where_shown(incident) == ALL
    assert "<h3>Payments are failing</h3>" in public_texts()["/status/"]
    read = api.get(incident_url(incident)).json()
    assert read["public"] is True
    assert read["public_since"] == NOW.isoformat().replace("+00:00", "Z")
    assert "SECRET" not in "".join(public_texts().values())


def test_an_incident_drafted_from_failing_health_checks_is_internal(settings):
    settings.HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES = 3
    production = EnvironmentFactory(service__name="Storefront", service__slug="storefront")
    steps = Recorder([HealthCheckFactory(service=production.service, environment=production)])
    for _ in range(3):
        steps.step(False)
    drafted = Incident.objects.get()
    assert drafted.public_since is None
    assert where_shown(drafted) == []
    assert "Disruption to Storefront" not in public_texts()["/status/"]


def test_publishing_withdrawing_marking_and_unpublishing_each_change_the_page_and_feeds(
    incident,
    editor,
    django_capture_on_commit_callbacks,
    clock,  # noqa: F811  (the fixture)
):
    capture = django_capture_on_commit_callbacks
    assert where_shown(incident) == []

    first = publish_update(incident, "Pages load slowly", editor, capture)
    assert where_shown(incident) == ALL
    assert refreshed(incident).public_since == NOW
    assert incident.public_by == editor
    assert incident.public_marked is False

    clock.shift(timedelta(minutes=5))
    with capture(execute=True):
        communications.communication_retract(communication=first, user=editor, reason="Wrong.")
    assert where_shown(incident) == []  # its only update withdrawn: internal again
    assert refreshed(incident).public_since is None
    # A feed reader kept what it read: the feeds still say it was withdrawn, and no more.
    assert "Withdrawn: Pages load slowly" in public_texts()[ATOM]
    assert "Withdrawn: Pages load slowly" in public_texts()[RSS]

    with capture(execute=True):
        services.incident_publish(incident=incident, user=editor)
    assert where_shown(incident) == ALL
    assert "<h3>Disruption to Storefront</h3>" in public_texts()["/status/"]
    assert refreshed(incident).public_marked is True

    second = publish_update(incident, "Slow pages: found it", editor, capture)
    with capture(execute=True):
        communications.communication_retract(communication=second, user=editor, reason="Wrong.")
    assert where_shown(incident) == ALL  # marked public: it stays
    assert "<h3>Disruption to Storefront</h3>" in public_texts()["/status/"]

    with capture(execute=True):
        services.incident_unpublish(incident=incident, user=editor)
    assert where_shown(incident) == []
    assert refreshed(incident).public_marked is False

    publish_update(incident, "Slow pages again", editor, capture)
    assert where_shown(incident) == ALL
    with capture(execute=True):
        services.incident_unpublish(incident=incident, user=editor)
    # Internal although a published update stands: the team said so.
    assert where_shown(incident) == []


def test_withdrawing_one_of_two_published_updates_keeps_the_incident_public(
    incident, editor, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = publish_update(incident, "Pages load slowly", editor, capture)
    publish_update(incident, "Found the cause", editor, capture)
    with capture(execute=True):
        communications.communication_retract(communication=first, user=editor, reason="Wrong.")
    assert where_shown(incident) == ALL


def test_an_internal_incident_changes_neither_the_current_status_nor_the_past():
    check = HealthCheckFactory(name="Checkout")
    result(check, at=NOW - timedelta(minutes=1), ok=True)
    IncidentFactory(started_at=NOW - timedelta(hours=1), title="Open and internal")
    internal_recent = resolved_incident(days_ago=3)
    page = public_texts()["/status/"]
    assert "All systems operational" in page
    assert 'id="active-incidents"' not in page
    assert f'id="incident-{internal_recent.number}"' not in page
    assert "No incidents in the last 90 days." in page


def test_with_nothing_public_in_90_days_the_latest_public_incident_is_the_one_shown():
    public_old = resolved_incident(days_ago=200, public_since=NOW - timedelta(days=200))
    internal_newer = resolved_incident(days_ago=150)
    past = public_texts()["/status/"].split('id="past-incidents"')[1]
    assert f'id="incident-{public_old.number}"' in past
    assert f'id="incident-{internal_newer.number}"' not in past


def test_making_public_and_internal_is_written_on_the_timeline_and_bumps_the_version(
    incident, editor
):
    version = incident.version
    services.incident_publish(incident=incident, user=editor)
    services.incident_publish(incident=incident, user=editor)  # again: nothing changes
    assert refreshed(incident).version == version + 1
    services.incident_unpublish(incident=incident, user=editor)
    services.incident_unpublish(incident=incident, user=editor)
    assert refreshed(incident).version == version + 2
    lines = list(TimelineEvent.objects.filter(incident=incident).values_list("text", flat=True))
    assert lines == ["Put on the status page by sam.", "Taken off the status page by sam."]
    assert incident.history.count() >= 2


def test_marking_public_an_incident_public_by_its_update_keeps_who_and_since(
    incident,
    editor,
    django_capture_on_commit_callbacks,
    clock,  # noqa: F811  (the fixture)
):
    publish_update(incident, "Pages load slowly", editor, django_capture_on_commit_callbacks)
    clock.shift(timedelta(minutes=10))
    admin = user_with_role("admin", username="alex")
    services.incident_publish(incident=incident, user=admin)
    refreshed(incident)
    assert (incident.public_since, incident.public_by, incident.public_marked) == (
        NOW,
        editor,
        True,
    )


# --- the incident page -----------------------------------------------------------------------


def detail(client: Client, incident: Incident) -> str:
    response = client.get(reverse("incidents:detail", args=[incident.reference]))
    assert response.status_code == 200
    return response.content.decode()


def visibility_box(html: str) -> str:
    return html.split('id="visibility"')[1].split("</section>")[0]


def test_the_incident_page_says_internal_and_shows_what_would_go_public(client, incident):
    client.force_login(user_with_role("editor"))
    box = visibility_box(detail(client, incident))
    assert "Internal: not on the status page" in box
    assert "Disruption to Storefront" in box
    assert "Pages load slowly" in box  # the status line, which the page shows under it
    assert "SECRET-TITLE" not in box
    assert reverse("incidents:incident_publish", args=[incident.reference]) in box


def test_an_editor_makes_it_public_then_internal_from_the_incident_page(client, incident, editor):
    client.force_login(editor)
    publish = reverse("incidents:incident_publish", args=[incident.reference])
    response = client.post(publish)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/incidents/{incident.reference}/#visibility")
    box = visibility_box(detail(client, incident))
    assert "Public since" in box
    assert "by sam" in box
    assert "Internal: not on the status page" not in box
    assert f'id="incident-{incident.number}"' in public_texts()["/status/"]

    unpublish = reverse("incidents:incident_unpublish", args=[incident.reference])
    assert unpublish in box
    assert client.post(unpublish).status_code == 302
    assert "Internal: not on the status page" in visibility_box(detail(client, incident))


def test_public_by_an_update_shows_the_update_as_the_heading(
    client, incident, editor, django_capture_on_commit_callbacks
):
    publish_update(incident, "Pages load slowly", editor, django_capture_on_commit_callbacks)
    client.force_login(editor)
    box = visibility_box(detail(client, incident))
    assert "Public since" in box
    assert "Pages load slowly" in box
    assert "Disruption to Storefront" not in box


def test_publishing_and_withdrawing_in_place_bring_the_visibility_box_up_to_date(
    client, incident, editor
):
    """The communications section answers htmx with itself and, out of band, the box."""
    client.force_login(editor)
    update = Communication(
        incident=incident,
        audience=Audience.STATUS_PAGE,
        phase=Phase.INVESTIGATING,
        subject="Pages load slowly",
    )
    update.render_markdown()
    update.save()
    communications.communication_approve(communication=update, user=editor)
    htmx = {"HTTP_HX_REQUEST": "true"}

    sent = client.post(
        reverse("incidents:communication_send", args=[incident.reference, update.pk]), **htmx
    )
    assert sent.status_code == 200
    box = sent.content.decode().split('<section class="visibility')[1]
    assert 'hx-swap-oob="true"' in box.split(">")[0]
    assert "Public since" in box
    assert "by sam" in box

    withdrawn = client.post(
        reverse("incidents:communication_retract", args=[incident.reference, update.pk]),
        {"reason": "Wrong incident."},
        **htmx,
    )
    box = withdrawn.content.decode().split('<section class="visibility')[1]
    assert "Internal: not on the status page" in box


def test_a_viewer_sees_the_visibility_but_cannot_change_it(client, incident):
    client.force_login(user_with_role("viewer"))
    box = visibility_box(detail(client, incident))
    assert "Internal: not on the status page" in box
    assert "<form" not in box
    publish = reverse("incidents:incident_publish", args=[incident.reference])
    assert client.post(publish).status_code == 403
    assert refreshed(incident).public_since is None


def test_making_public_needs_a_post(client, incident, editor):
    client.force_login(editor)
    publish = reverse("incidents:incident_publish", args=[incident.reference])
    assert client.get(publish).status_code == 405
    assert refreshed(incident).public_since is None


def test_the_incident_page_reads_in_the_same_number_of_queries_public_or_not(
    client, incident, editor, django_assert_max_num_queries
):
    client.force_login(editor)
    with django_assert_max_num_queries(40) as internal:
        detail(client, incident)
    services.incident_publish(incident=incident, user=editor)
    with django_assert_max_num_queries(40) as public:
        detail(client, incident)
    assert len(public.captured_queries) == len(internal.captured_queries)
