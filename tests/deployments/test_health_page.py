"""The health checks page (/system/health/): every service's checks with their latest answer,
and "Run now" for admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from deployments.models import HealthSnapshot
from deployments.services import ProbeOutcome, snapshot_record
from tests.factories import T0, HealthCheckFactory, ServiceFactory, user_with_role

pytestmark = pytest.mark.django_db

PAGE = "/system/health/"


def run_url(check) -> str:
    return reverse("deployments:health_check_run", args=[check.pk])


def logged_in(role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user_with_role(role))
    return client


def service_with_checks(n: int, *, slug: str):
    """A service with n checks and one snapshot where every second check failed."""
    service = ServiceFactory(name=slug.title(), slug=slug)
    checks = [HealthCheckFactory(service=service, name=f"{slug} {i}", order=i) for i in range(n)]
    snapshot_record(
        service=service,
        taken_at=T0,
        outcomes=[
            ProbeOutcome(
                c, i % 2 == 0, 200 if i % 2 == 0 else 503, 40 + i, "" if i % 2 == 0 else f"boom {i}"
            )
            for i, c in enumerate(checks)
        ],
    )
    return service, checks


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@time_machine.travel(T0 + timedelta(minutes=2), tick=False)
def test_each_check_shows_its_latest_result_latency_and_error():
    service, checks = service_with_checks(2, slug="shop")
    snapshot_record(
        service=service,
        taken_at=T0 + timedelta(minutes=1),
        outcomes=[ProbeOutcome(checks[0], False, None, None, "connection refused by shop")],
    )
    HealthCheckFactory(service=service, name="Fresh", order=9)

    html = logged_in("viewer").get(PAGE).content.decode()

    first = html[html.index(f'id="health-check-{checks[0].pk}"') :]
    first = first[: first.index("</tr>")]
    assert "Failed" in first
    assert "connection refused by shop" in first  # the newer answer, not the older pass
    second = html[html.index(f'id="health-check-{checks[1].pk}"') :]
    second = second[: second.index("</tr>")]
    assert "503" in second
    assert "41 ms" in second
    assert "boom 1" in second
    assert "Never run" in html
    assert '<span class="health down">Down</span>' in html  # the service's latest snapshot
    assert "last check 1 minute ago" in html


def test_a_service_whose_checks_stopped_answering_is_unknown_with_the_age_of_its_last_check():
    service_with_checks(2, slug="shop")
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        html = logged_in("viewer").get(PAGE).content.decode()
    head = html.split('id="service-')[1].split("</div>")[0]
    assert '<span class="health unknown"' in head
    assert ">Unknown</span>" in head
    assert "last check 3 days ago" in head
    assert "Degraded" not in head


def test_viewers_and_editors_see_no_run_button_admins_do():
    _service, checks = service_with_checks(1, slug="shop")
    for role in ("viewer", "editor"):
        assert run_url(checks[0]) not in logged_in(role).get(PAGE).content.decode()
    assert run_url(checks[0]) in logged_in("admin").get(PAGE).content.decode()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_forged_run_by_anyone_but_an_admin_is_403(role):
    _service, checks = service_with_checks(1, slug="shop")
    response = logged_in(role).post(run_url(checks[0]))
    assert response.status_code == 403
    assert HealthSnapshot.objects.count() == 1


def test_an_anonymous_run_is_sent_to_log_in():
    _service, checks = service_with_checks(1, slug="shop")
    response = Client().post(run_url(checks[0]))
    assert response.status_code == 302
    assert HealthSnapshot.objects.count() == 1


def test_a_run_without_the_csrf_token_is_refused():
    _service, checks = service_with_checks(1, slug="shop")
    response = logged_in("admin", enforce_csrf_checks=True).post(run_url(checks[0]))
    assert response.status_code == 403
    assert HealthSnapshot.objects.count() == 1


def test_run_now_with_htmx_answers_the_fresh_row(target_server, loopback_allowed):
    check = HealthCheckFactory(name="Home", url=target_server.url("/status/502"))

    response = logged_in("admin").post(run_url(check), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="health-check-{check.pk}"')
    assert "unexpected status 502" in html
    assert run_url(check) in html
    snapshot = HealthSnapshot.objects.get()
    assert snapshot.kind == HealthSnapshot.Kind.MANUAL


def test_run_now_without_javascript_comes_back_to_the_page_with_the_answer(
    target_server, loopback_allowed
):
    check = HealthCheckFactory(name="Home", url=target_server.url("/ok"))

    response = logged_in("admin").post(run_url(check), follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert f"{check.service.name} / Home: passed." in response.content.decode()


def test_an_unknown_check_is_a_404():
    assert logged_in("admin").post("/system/health/checks/99999/run/").status_code == 404
    assert logged_in("admin").post(f"/system/health/checks/{'9' * 19}/run/").status_code == 404


def test_the_page_costs_the_same_queries_for_one_check_and_for_fifty(
    django_assert_num_queries,
):
    client = logged_in("viewer")
    service_with_checks(1, slug="small")
    client.get(PAGE)  # warm the session and the user's permissions
    # session, user, the user's and the groups' permissions, services with their latest status,
    # checks with their latest result id, those results
    with django_assert_num_queries(7):
        assert client.get(PAGE).status_code == 200
    for i in range(7):
        service_with_checks(7, slug=f"big-{i}")
    with django_assert_num_queries(7):
        response = client.get(PAGE)
    assert response.content.decode().count('<tr id="health-check-') == 50
