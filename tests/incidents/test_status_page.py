"""The public status page: what it shows without a login, what it never shows, and how cheaply.

The clock is fixed (time-machine) so uptime days and "the last 90 days" are exact. The kept page
is a database row, so each test starts without one; each test gets its own in-memory cache for the
sign-up throttle.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.test import Client, override_settings

from core.rendering import render
from deployments.models import (
    CheckResult,
    CheckResultHourly,
    Environment,
    HealthCheck,
    HealthSnapshot,
)
from incidents.models import (
    Audience,
    Communication,
    Incident,
    Maintenance,
    Phase,
)
from incidents.statuspage.page import (
    ACTIVE_SHOWN,
    FRESH_SECONDS,
    PAST_SHOWN,
    public_documents_mark_stale,
)
from incidents.statuspage.services import maintenance_create
from tests.factories import (
    ActionItemFactory,
    CauseFactory,
    EnvironmentFactory,
    HealthCheckFactory,
    IncidentFactory,
    LessonFactory,
    ServiceFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
URL = "/status/"
XSS = (
    "<script>alert('owned')</script>\n\n"
    "[click me](javascript:alert(1))\n\n"
    '<img src="x" onerror="alert(1)">\n\n'
    '<a href="https://example.test" onclick="alert(1)">styled</a>'
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- builders --------------------------------------------------------------------------------


def result(check, *, at: datetime, ok: bool = True, maintenance: bool = False) -> CheckResult:
    snapshot, _ = HealthSnapshot.objects.get_or_create(
        service=check.service, taken_at=at, defaults={"status": "up" if ok else "down"}
    )
    return CheckResult.objects.create(
        snapshot=snapshot,
        health_check=check,
        service=check.service,
        taken_at=at,
        ok=ok,
        status_code=200 if ok else 503,
        maintenance=maintenance,
    )


def hourly(
    check, *, hour: datetime, samples: int, ok: int, maintenance: int = 0
) -> CheckResultHourly:
    return CheckResultHourly.objects.create(
        health_check=check,
        service=check.service,
        hour=hour,
        samples=samples,
        ok_count=ok,
        maintenance_count=maintenance,
    )


def communication(
    incident: Incident,
    subject: str,
    *,
    at: datetime,
    body: str = "",
    phase: str = Phase.IDENTIFIED,
    status: str = Communication.Status.SENT,
    audience: str = Audience.STATUS_PAGE,
    corrects: Communication | None = None,
) -> Communication:
    row = Communication(
        incident=incident,
        corrects=corrects,
        audience=audience,
        phase=phase,
        status=status,
        subject=subject,
        body=body,
        approved_at=None if status == Communication.Status.DRAFT else at,
        sent_at=at if status == Communication.Status.SENT else None,
    )
    row.render_markdown()
    row.save()
    if status == Communication.Status.SENT and audience == Audience.STATUS_PAGE:
        # What publishing it through communication_send does: the incident is public from then.
        Incident.objects.filter(pk=incident.pk, public_since__isnull=True).update(public_since=at)
    return row


def resolved_incident(*, days_ago: float, published: bool = False, **fields) -> Incident:
    started = NOW - timedelta(days=days_ago)
    fields.setdefault("summary", "")
    incident = IncidentFactory(
        started_at=started,
        resolved_at=started + timedelta(minutes=16),
        status=Incident.Status.RESOLVED,
        postmortem_state=(
            Incident.PostmortemState.PUBLISHED if published else Incident.PostmortemState.DRAFT
        ),
        **fields,
    )
    incident.render_markdown()
    incident.save()
    return incident


def incident_page(incident: Incident, client: Client | None = None) -> str:
    response = (client or Client()).get(f"/status/incidents/{incident.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def page(client: Client | None = None) -> str:
    response = (client or Client()).get(URL)
    assert response.status_code == 200
    return response.content.decode()


def bar_levels(html: str, check_id: int) -> list[str]:
    svg = re.search(
        rf'<svg class="uptime"[^>]*aria-labelledby="uptime-{check_id}".*?</svg>', html, re.S
    )
    assert svg, f"no uptime bar for check {check_id}"
    return re.findall(r'<rect class="u-(\w+)"', svg.group(0))


def day_index(moment: datetime) -> int:
    """Where a day sits in the 90-day bar: 89 is today."""
    return 89 - (NOW.date() - moment.date()).days


# --- what it shows ---------------------------------------------------------------------------


def test_the_page_needs_no_login_and_has_no_app_navigation(client):
    html = page(client)
    assert "<title>Status</title>" in html
    for app_only in ("Log in", "Log out", "Dashboard", "/login/", "/admin/", "htmx"):
        assert app_only not in html, app_only
    assert "/static/css/status.css" in html


def test_each_enabled_check_is_a_component_with_its_latest_status():
    shop = ServiceFactory(name="Shop")
    up = HealthCheckFactory(service=shop, name="Checkout")
    down = HealthCheckFactory(service=shop, name="Search")
    quiet = HealthCheckFactory(service=shop, name="Reports")
    never = HealthCheckFactory(service=shop, name="Newsletter")
    HealthCheckFactory(service=shop, name="Retired probe", enabled=False)
    result(up, at=NOW - timedelta(minutes=5), ok=False)
    result(up, at=NOW - timedelta(minutes=1), ok=True)
    result(down, at=NOW - timedelta(minutes=5), ok=True)
    result(down, at=NOW - timedelta(minutes=1), ok=False)
    result(quiet, at=NOW - timedelta(hours=2), ok=True)

    html = page()
    states = dict(
        re.findall(r'component-name">([^<]+)</span>\s*<span class="state (\w+)"', html, re.S)
    )
    assert states == {
        "Checkout": "operational",
        "Search": "outage",
        "Reports": "stale",
        "Newsletter": "unknown",
    }
    assert "Retired probe" not in html
    assert "Partial outage" in html
    assert never.pk  # listed although it never ran


def test_checks_watching_a_preview_or_staging_environment_are_not_components():
    shop = ServiceFactory(name="Shop")
    production = EnvironmentFactory(service=shop, name="production")
    preview = EnvironmentFactory(service=shop, name="preview", kind=Environment.Kind.PREVIEW)
    staging = EnvironmentFactory(service=shop, name="staging", kind=Environment.Kind.STAGING)
    HealthCheckFactory(service=shop, name="Checkout", environment=production)
    HealthCheckFactory(service=shop, name="Search")  # watches no environment in particular
    HealthCheckFactory(service=shop, name="Checkout on preview", environment=preview)
    HealthCheckFactory(service=shop, name="Checkout on staging", environment=staging)
    names = re.findall(r'component-name">([^<]+)</span>', page())
    assert sorted(names) == ["Checkout", "Search"]


def test_every_component_failing_is_a_major_outage_and_all_passing_is_operational():
    check = HealthCheckFactory()
    result(check, at=NOW - timedelta(minutes=1), ok=False)
    assert "Major outage" in page()
    result(check, at=NOW, ok=True)
    public_documents_mark_stale()
    assert "All systems operational" in page()


def test_the_uptime_bar_has_90_days_from_hourly_and_raw_results_and_marks_days_without_data():
    check = HealthCheckFactory()
    perfect = NOW - timedelta(days=30)
    bad = NOW - timedelta(days=10)
    split = NOW - timedelta(days=3)
    for hour in range(24):
        hourly(check, hour=perfect.replace(hour=hour), samples=60, ok=60)
    hourly(check, hour=bad.replace(hour=1), samples=60, ok=30)
    # One day half rolled up (all good) and half still raw (all failing): 50% over the day.
    hourly(check, hour=split.replace(hour=1), samples=2, ok=2)
    result(check, at=split.replace(hour=20), ok=False)
    result(check, at=split.replace(hour=21), ok=False)
    result(check, at=NOW - timedelta(minutes=1), ok=True)
    # Older than the bar: not counted anywhere.
    hourly(check, hour=NOW - timedelta(days=120), samples=60, ok=0)

    html = page()
    levels = bar_levels(html, check.pk)
    assert len(levels) == 90
    assert levels[day_index(perfect)] == "ok"
    assert levels[day_index(bad)] == "down"
    assert levels[day_index(split)] == "down"
    assert levels[89] == "ok"
    with_data = {day_index(perfect), day_index(bad), day_index(split), 89}
    assert all(level == "none" for i, level in enumerate(levels) if i not in with_data)
    assert f"{bad:%-d %b %Y}: 50.00% up" in html
    # 24*60 + 60 + 4 + 1 samples; 24*60 + 30 + 2 + 1 good.
    assert f"{100 * (1440 + 33) / (1440 + 65):.2f}% uptime" in html


def test_a_rebuild_reads_the_uptime_again_late_roll_ups_included(django_assert_num_queries):
    check = HealthCheckFactory()
    hourly(check, hour=NOW - timedelta(days=5), samples=10, ok=10)
    result(check, at=NOW - timedelta(minutes=1))
    page()
    public_documents_mark_stale()  # as when it expires
    hourly(check, hour=NOW - timedelta(days=6), samples=10, ok=0)  # a late roll-up
    result(check, at=NOW - timedelta(seconds=30), ok=False)
    # The kept page (read by the middleware, then by the view), its claim, the five reads of
    # the build, the new bytes.
    with django_assert_num_queries(9):
        html = page()
    levels = bar_levels(html, check.pk)
    assert levels[day_index(NOW - timedelta(days=6))] == "down"
    assert levels[89] == "down"


def test_open_incidents_show_their_published_updates_newest_first_and_nothing_else():
    incident = IncidentFactory(
        started_at=NOW - timedelta(hours=1), status=Incident.Status.IDENTIFIED
    )
    communication(incident, "First: we are looking", at=NOW - timedelta(minutes=50))
    communication(incident, "Second: found it", at=NOW - timedelta(minutes=20))
    communication(
        incident, "Draft words", at=NOW, status=Communication.Status.DRAFT, body="not yet"
    )
    communication(incident, "Approved, unsent", at=NOW, status=Communication.Status.APPROVED)
    communication(incident, "Internal summary", at=NOW, audience=Audience.INTERNAL)
    communication(incident, "Users email", at=NOW, audience=Audience.USER_EMAIL)

    html = page()
    current = html.split('id="active-incidents"')[1].split('id="components"')[0]
    updates = current.split('<ol class="updates"')[1]
    assert updates.index("Second: found it") < updates.index("First: we are looking")
    # The incident is headed by its first public words, not its internal title.
    assert "<h3>First: we are looking</h3>" in current
    for hidden in ("Draft words", "not yet", "Approved, unsent", "Internal summary", "Users email"):
        assert hidden not in html, hidden
    assert "An incident is being handled" in html


def test_past_incidents_of_90_days_are_in_brief_and_their_pages_show_the_published_summary():
    published = resolved_incident(days_ago=10, published=True, summary="Published summary words")
    # Made public with no update published: shown under "Disruption to <service>".
    draft = resolved_incident(
        days_ago=20, summary="Draft summary words", public_since=NOW - timedelta(days=20)
    )
    old = resolved_incident(days_ago=120)
    communication(old, "Old news", at=old.started_at)
    communication(published, "Recent news", at=published.started_at)

    past = page().split('id="past-incidents"')[1]
    # In brief: the summary is a link away, on the incident's own page.
    assert "Published summary words" not in past
    assert f'href="/status/incidents/{published.reference}/"' in past
    assert f'id="incident-{draft.number}"' in past
    assert "Old news" not in past
    assert re.search(r"lasted 16\s+minutes", past)  # timesince spaces with a no-break space
    assert "Published summary words" in incident_page(published)
    assert "Draft summary words" not in incident_page(draft)


def test_with_nothing_in_90_days_the_latest_incident_is_still_shown_as_such():
    old = resolved_incident(days_ago=200)
    resolved_incident(days_ago=300)
    communication(old, "The most recent trouble", at=old.started_at)

    past = page().split('id="past-incidents"')[1]
    assert "No incidents in the last 90 days. The most recent one:" in past
    assert past.count('class="incident brief resolved"') == 1
    assert "The most recent trouble" in past


def test_nothing_internal_reaches_the_page():
    author = UserFactory(username="secret-author", first_name="Secretname")
    incident = IncidentFactory(
        started_at=NOW - timedelta(hours=1),
        title="SECRET-TITLE naming the cause",
        resolution="SECRET-RESOLUTION",
        next_step="SECRET-NEXT-STEP",
        summary="SECRET-UNPUBLISHED-SUMMARY",
        created_by=author,
        impact="Checkout was slow for some people.",
        status_line="Monitoring the fix",
    )
    incident.render_markdown()
    incident.save()
    incident.authors.add(author)
    CauseFactory(incident=incident, title="SECRET-CAUSE", detail="SECRET-CAUSE-DETAIL")
    TimelineEventFactory(incident=incident, text="SECRET-TIMELINE")
    ActionItemFactory(incident=incident, title="SECRET-ACTION", owner=author)
    LessonFactory(incident=incident, text="SECRET-LESSON")
    communication(incident, "SECRET-DRAFT", at=NOW, status=Communication.Status.DRAFT)
    communication(incident, "SECRET-INTERNAL", at=NOW, audience=Audience.INTERNAL)
    communication(incident, "Public words", at=NOW)

    html = page()
    assert "Public words" in html
    assert "Checkout was slow for some people." in html
    assert "Monitoring the fix" in html
    assert "SECRET" not in html.upper()
    assert "secret-author" not in html


def test_maintenance_shows_as_in_progress_or_upcoming_until_it_ends():
    shop = ServiceFactory(name="Shop")
    maintenance_create(
        title="Running now", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1)
    )
    maintenance_create(
        service=shop,
        title="Next week",
        description="Saving **pauses** briefly.",
        starts_at=NOW + timedelta(days=7),
        ends_at=NOW + timedelta(days=7, hours=1),
    )
    Maintenance.objects.create(
        title="Already over", starts_at=NOW - timedelta(hours=3), ends_at=NOW - timedelta(hours=1)
    )

    html = page()
    now_part = html.split('id="maintenance-now"')[1].split("</section>")[0]
    upcoming = html.split('id="maintenance-upcoming"')[1].split("</section>")[0]
    assert "Running now" in now_part
    assert "All services" in now_part
    assert "Next week" in upcoming
    assert "Shop" in upcoming
    assert "Saving <strong>pauses</strong> briefly." in upcoming
    assert "Already over" not in html
    assert "Maintenance in progress" in html


def test_markdown_xss_in_an_update_and_a_maintenance_description_is_inert():
    incident = IncidentFactory(started_at=NOW - timedelta(hours=1))
    communication(incident, "<script>alert('subject')</script>", at=NOW, body=XSS)
    maintenance_create(
        title="<img src=x onerror=alert(1)>",
        description=XSS,
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=1, hours=1),
    )

    html = page()
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert re.search(r"<[^>]+\son\w+=", lowered) is None  # no event handler attribute anywhere
    assert "styled" in html  # the harmless part of the text survives


def test_the_feeds_are_announced_in_the_head():
    head = page().split("</head>")[0]
    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml"[^>]+/status/feed\.atom', head
    )
    assert re.search(
        r'<link rel="alternate" type="application/rss\+xml"[^>]+/status/feed\.rss', head
    )


def test_the_demo_shows_the_moodmash_incident_its_updates_and_the_next_maintenance():
    call_command("load_demo", stdout=io.StringIO())
    html = page()
    assert "MoodMash" in html
    for name in ("Homepage", "API health", "Database", "Authentication", "Login page"):
        assert f'component-name">{name}</span>' in html
    assert "(preview)" not in html  # what users see is production, not a preview's checks
    past = html.split('id="past-incidents"')[1]
    assert "moodmash.win is not loading" in past
    assert "moodmash.win is back to normal" in past
    assert re.search(r"lasted 16\s+minutes", past)  # timesince spaces with a no-break space
    upcoming = html.split('id="maintenance-upcoming"')[1]
    assert "Database upgrade" in upcoming
    link = re.search(r'<a href="(/status/incidents/INC-\d+/)">moodmash.win is not loading', past)
    assert link, "the past incident links to its own page"
    # The published post-mortem's summary (public by publishing) is on the incident's page.
    assert "_worker.js" in Client().get(link.group(1)).content.decode()
    # Ninety days of history behind every component, with the demo's few blips showing.
    production = HealthCheck.objects.filter(environment__name="production").order_by("order")
    levels = {check.name: bar_levels(html, check.pk) for check in production}
    assert all(row.count("none") <= 1 for row in levels.values()), levels
    rough = {name for name, row in levels.items() if set(row) - {"ok", "none"}}
    assert rough == {"API health", "Authentication", "Database", "Homepage", "Login page"}


def test_a_single_failure_is_never_rounded_away_into_a_perfect_day():
    check = HealthCheckFactory()
    hourly(check, hour=NOW.replace(hour=1), samples=100_000, ok=99_999)
    html = page()
    assert "99.99% uptime" in html
    assert "100.00%" not in html


# --- how cheaply -----------------------------------------------------------------------------


def _rows(n: int) -> None:
    for i in range(n):
        service = ServiceFactory(name=f"Service {i}")
        check = HealthCheckFactory(service=service)
        result(check, at=NOW - timedelta(minutes=1), ok=i % 2 == 0)
        hourly(check, hour=NOW - timedelta(days=2), samples=60, ok=59)
        incident = resolved_incident(days_ago=i + 1, published=True, summary="It broke.")
        communication(incident, f"Update {i}", at=incident.started_at)
        assert incident.resolved_at is not None
        communication(incident, f"Fixed {i}", at=incident.resolved_at, phase=Phase.RESOLVED)
        Maintenance.objects.create(
            title=f"Window {i}",
            starts_at=NOW + timedelta(days=i),
            ends_at=NOW + timedelta(days=i + 1),
        )
    IncidentFactory(started_at=NOW - timedelta(minutes=5))


@pytest.mark.parametrize("rows", [1, 20])
def test_cold_it_builds_in_five_queries_and_warm_it_reads_one_row(django_assert_num_queries, rows):
    _rows(rows)
    # Checks, their uptime, components, maintenance, incidents with their updates; around them
    # the kept page looked for (by the middleware, then by the view), then stored.
    with django_assert_num_queries(8):
        html = page()
    assert html.count('class="component"') == rows
    shown = min(rows, PAST_SHOWN)
    assert html.count('class="incident brief resolved"') == shown
    assert f"Fixed {shown - 1}" in html
    with django_assert_num_queries(1):
        page()


def test_on_a_bad_day_the_page_lists_ten_open_incidents_and_links_to_the_rest():
    for i in range(ACTIVE_SHOWN + 2):
        incident = IncidentFactory(started_at=NOW - timedelta(minutes=60 - i))
        communication(incident, f"Looking into problem {i}", at=NOW - timedelta(minutes=30 - i))
    html = page()
    listed = re.findall(r'<article class="incident [a-z_]+" id="incident-(\d+)"', html)
    assert len(listed) == ACTIVE_SHOWN
    more = re.search(r'<a href="([^"]+)">And (\d+) more open incidents</a>', html)
    assert more is not None
    assert more.groups() == ("/status/history/", "2")
    # The newest first: the two left out are the oldest.
    assert "Looking into problem 11" in html
    assert "Looking into problem 0" not in html


def test_with_ten_open_incidents_or_fewer_nothing_is_said_about_more():
    for i in range(ACTIVE_SHOWN):
        incident = IncidentFactory(started_at=NOW - timedelta(minutes=60 - i))
        communication(incident, f"Looking into problem {i}", at=NOW - timedelta(minutes=30 - i))
    html = page()
    assert len(re.findall(r'<article class="incident [a-z_]+" id="incident-', html)) == 10
    assert "more open incident" not in html


def test_a_repeat_visitor_with_a_current_copy_gets_304(client, django_capture_on_commit_callbacks):
    HealthCheckFactory(name="Checkout")
    first = client.get(URL)
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{20}"', etag)  # strong: the same bytes for everyone
    assert first["Cache-Control"] == "no-cache"

    again = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    with django_capture_on_commit_callbacks(execute=True):
        maintenance_create(
            title="New window", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
        )
    changed = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert b"New window" in changed.content


def test_every_visitor_gets_the_same_bytes_and_no_cookie():
    HealthCheckFactory(name="Checkout")
    staff = Client()
    staff.force_login(UserFactory())
    answers = [Client().get(URL), Client(enforce_csrf_checks=True).get(URL), staff.get(URL)]
    assert len({answer.content for answer in answers}) == 1
    assert len({answer["ETag"] for answer in answers}) == 1
    for answer in answers:
        assert not answer.cookies, answer.cookies
        assert "Cookie" not in answer.get("Vary", "")
    # So one visitor's copy is current for another.
    assert Client().get(URL, HTTP_IF_NONE_MATCH=answers[0]["ETag"]).status_code == 304


def test_a_write_by_another_process_shows_at_once():
    """One layer, the database, shared by every process: a write elsewhere marks the kept page
    stale in its own transaction, and no copy kept by this process outlives it."""
    page()
    Maintenance.objects.create(
        title="Planned elsewhere",
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=2),
    )
    assert "Planned elsewhere" not in page()
    public_documents_mark_stale()  # what that process's write did
    assert "Planned elsewhere" in page()


def test_a_write_that_marks_nothing_shows_within_ten_seconds(clock):
    assert FRESH_SECONDS <= 10
    page()
    Maintenance.objects.create(
        title="Sneaked in", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
    )
    assert "Sneaked in" not in page()
    clock.shift(timedelta(seconds=FRESH_SECONDS + 0.5))
    assert "Sneaked in" in page()


def test_the_page_links_to_the_sign_up_form_which_works_with_csrf_checks_on():
    html = page(Client(enforce_csrf_checks=True))
    assert "<form" not in html
    assert "csrfmiddlewaretoken" not in html
    link = re.search(r'<a href="([^"]+)">Subscribe by email</a>', html)
    assert link, html.split('id="subscribe"')[1]

    browser = Client(enforce_csrf_checks=True)
    form = browser.get(link.group(1))
    assert form.status_code == 200
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    assert found is not None
    token = found.group(1)
    response = browser.post(
        link.group(1), {"email": "reader@example.test", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    # Another browser (no cookie to match the token), or no token at all: refused.
    forged = Client(enforce_csrf_checks=True).post(
        link.group(1), {"email": "x@example.test", "csrfmiddlewaretoken": token}
    )
    assert forged.status_code == 403
    assert browser.post(link.group(1), {"email": "y@example.test"}).status_code == 403


class FailingCache(LocMemCache):
    """A cache whose server is down: every call raises, as Django's Redis backend does."""

    def _fail(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    get = set = add = delete = delete_many = incr = get_many = set_many = _fail


@override_settings(CACHES={"default": {"BACKEND": "tests.incidents.test_status_page.FailingCache"}})
def test_the_public_documents_never_ask_the_cache(caplog, django_capture_on_commit_callbacks):
    HealthCheckFactory(name="Checkout")
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_create(
            title="Still shown", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=2)
        )
    html = page()
    assert "Checkout" in html
    assert "Still shown" in html
    for url in ("/status/feed.atom", "/status/feed.rss", "/status/summary.json"):
        assert Client().get(url).status_code == 200, url
    assert "cache" not in caplog.text.lower()


def test_the_page_answers_head_and_refuses_post():
    assert Client().head(URL).status_code == 200
    assert Client().post(URL).status_code == 405


def test_a_rendered_description_is_what_the_page_shows():
    window = maintenance_create(
        title="Upgrade",
        description="Some *emphasis*",
        starts_at=NOW + timedelta(days=1),
        ends_at=NOW + timedelta(days=2),
    )
    assert window.description_html == render("Some *emphasis*")
    assert window.description_html in page()


def test_failures_inside_a_maintenance_window_do_not_count_against_uptime():
    check = HealthCheckFactory()
    day = NOW - timedelta(days=2)
    result(check, at=day.replace(hour=1), ok=True)
    result(check, at=day.replace(hour=2), ok=False, maintenance=True)
    result(check, at=day.replace(hour=3), ok=False, maintenance=True)
    hourly(check, hour=day.replace(hour=4), samples=1, ok=1, maintenance=30)
    result(check, at=NOW - timedelta(minutes=1), ok=True)
    html = page()
    assert bar_levels(html, check.pk)[day_index(day)] == "ok"
    assert f"{day:%-d %b %Y}: 100.00% up" in html
    assert "100.00% uptime" in html


def test_a_check_failing_inside_a_maintenance_window_shows_maintenance_not_an_outage():
    check = HealthCheckFactory(name="API")
    HealthCheckFactory(service=check.service, name="Homepage")
    result(check, at=NOW - timedelta(minutes=1), ok=False, maintenance=True)
    html = page()
    assert re.findall(r'<span class="state (\w+)"', html) == ["in_maintenance", "unknown"]
    assert "Maintenance in progress" in html
    assert "Major outage" not in html
    assert "Partial outage" not in html
