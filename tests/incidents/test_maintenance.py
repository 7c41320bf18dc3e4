"""Scheduled maintenance in the app: who may plan it, form errors beside their fields, Markdown
stored rendered, and the public status page told at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from incidents.models import Maintenance, PublicDocument
from incidents.statuspage.services import maintenance_create
from incidents.statuspage.urls import maintenance as urlpatterns
from tests.factories import ServiceFactory, user_with_role
from tests.incidents.test_status_page import XSS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

LIST = "/maintenance/"
NEW = "/maintenance/new/"


def _window(**fields) -> Maintenance:
    start = timezone.now() + timedelta(days=1)
    fields = {
        "title": "Upgrade",
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
    } | fields
    return Maintenance.objects.create(**fields)


def _form(**fields) -> dict:
    start = timezone.localtime() + timedelta(days=2)
    data = {
        "title": "Database upgrade",
        "service": "",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "description": "Saving **pauses** for a minute.",
    }
    return data | fields


def _urls(window: Maintenance) -> list[str]:
    return [
        reverse(
            f"incidents:{p.name}", kwargs={"pk": window.pk} if "pk" in p.pattern.converters else {}
        )
        for p in urlpatterns
        if isinstance(p, URLPattern)
    ]


@pytest.fixture
def editor(client):
    client.force_login(user_with_role("editor"))
    return client


def test_every_maintenance_page_sends_anonymous_visitors_to_log_in(client):
    window = _window()
    for url in _urls(window):
        for method in (client.get, client.post):
            response = method(url)
            # 405: the list is GET only, and says so before asking for a login.
            assert response.status_code in (302, 405), url
            if response.status_code == 302:
                assert response.url.startswith(reverse("login"))
    assert Maintenance.objects.count() == 1


def test_a_viewer_reads_the_list_but_cannot_plan_change_or_delete(client):
    window = _window()
    client.force_login(user_with_role("viewer"))
    response = client.get(LIST)
    assert response.status_code == 200
    assert b"Upgrade" in response.content
    assert b"Schedule maintenance" not in response.content
    for url in _urls(window)[1:]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, _form(title="forged")).status_code == 403, url
    assert list(Maintenance.objects.values_list("title", flat=True)) == ["Upgrade"]


def test_an_editor_schedules_maintenance_and_the_markdown_is_stored_rendered(
    editor, django_capture_on_commit_callbacks
):
    shop = ServiceFactory(name="Shop")
    assert editor.get("/status/").status_code == 200  # the status page, kept
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = editor.post(NEW, _form(service=shop.pk))
    assert response.status_code == 302
    assert response.url == LIST
    window = Maintenance.objects.get()
    assert window.service == shop
    assert window.description_html == "<p>Saving <strong>pauses</strong> for a minute.</p>"
    # After commit: the scheduled notice is published. (The kept status page was marked stale
    # inside the transaction: nothing is left to do for it after commit.)
    assert len(callbacks) == 1
    assert PublicDocument.objects.get().stale
    assert b"Database upgrade" in editor.get(LIST).content


def test_the_new_form_proposes_tomorrow_for_an_hour(editor):
    response = editor.get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'placeholder="2026-01-02 06:18"' in html
    assert '<span class="zone">UTC</span>' in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"starts_at": "tomorrow-ish"}, "starts_at", "Enter a valid date/time."),
        ({"ends_at": ""}, "ends_at", "This field is required."),
        ({"service": "999999"}, "service", "Select a valid choice."),
    ],
    ids=["no-title", "long-title", "bad-start", "no-end", "unknown-service"],
)
def test_bad_input_gets_an_error_beside_its_field(editor, fields, field, message):
    response = editor.post(NEW, _form(**fields))
    assert response.status_code == 422
    body = response.content.decode()
    error = body.split(f'id="id_{field}_error"')[1].split("</span>")[0]
    assert message in error
    assert Maintenance.objects.count() == 0


def test_a_window_that_ends_before_it_starts_is_refused_beside_the_end(editor):
    data = _form()
    data["ends_at"], data["starts_at"] = data["starts_at"], data["ends_at"]
    response = editor.post(NEW, data)
    assert response.status_code == 422
    assert (
        "The window must end after it starts."
        in response.content.decode().split('id="id_ends_at_error"')[1]
    )
    assert Maintenance.objects.count() == 0


def test_a_new_window_that_has_already_ended_is_refused(editor):
    past = timezone.localtime() - timedelta(days=2)
    response = editor.post(
        NEW,
        _form(
            starts_at=past.strftime("%Y-%m-%dT%H:%M"),
            ends_at=(past + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert response.status_code == 422
    assert b"already ended" in response.content


def test_an_oversized_description_is_refused(editor):
    response = editor.post(
        NEW, _form(description="x" * (settings.HINDSIGHT_MARKDOWN_MAX_LENGTH + 1))
    )
    assert response.status_code == 422
    assert b'id="id_description_error"' in response.content
    assert Maintenance.objects.count() == 0


def test_an_xss_description_is_stored_inert(editor):
    assert editor.post(NEW, _form(description=XSS)).status_code == 302
    stored = Maintenance.objects.get().description_html.lower()
    assert "<script" not in stored
    assert "javascript:" not in stored
    assert "onerror" not in stored


def test_an_editor_changes_and_deletes_a_window(editor, django_capture_on_commit_callbacks):
    window = _window(description="old")
    edit = reverse("incidents:maintenance_edit", args=[window.pk])
    assert b'value="Upgrade"' in editor.get(edit).content
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(edit, _form(title="Longer upgrade", description="*new*"))
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.title == "Longer upgrade"
    assert window.description_html == "<p><em>new</em></p>"

    delete = reverse("incidents:maintenance_delete", args=[window.pk])
    assert b"Delete" in editor.get(delete).content
    assert Maintenance.objects.filter(pk=window.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert editor.post(delete).status_code == 302
    assert not Maintenance.objects.exists()
    assert editor.get(edit).status_code == 404


def test_an_edit_may_keep_a_window_that_has_started(editor):
    start = timezone.now() - timedelta(hours=2)
    window = _window(starts_at=start, ends_at=start + timedelta(hours=1))
    data = _form(
        starts_at=timezone.localtime(window.starts_at).strftime("%Y-%m-%dT%H:%M"),
        ends_at=timezone.localtime(window.ends_at).strftime("%Y-%m-%dT%H:%M"),
        title="Recorded afterwards",
    )
    assert (
        editor.post(reverse("incidents:maintenance_edit", args=[window.pk]), data).status_code
        == 302
    )


@pytest.mark.parametrize("rows", [1, 30])
def test_the_list_reads_in_a_fixed_number_of_queries(editor, django_assert_num_queries, rows):
    shop = ServiceFactory()
    now = timezone.now()
    for i in range(rows):
        _window(title=f"Ahead {i}", service=shop)
        _window(
            title=f"Behind {i}",
            starts_at=now - timedelta(days=i + 2),
            ends_at=now - timedelta(days=i + 1),
        )
    # Session, user, its own and its groups' permissions (can_edit), then the two lists.
    with django_assert_num_queries(6):
        response = editor.get(LIST)
    assert response.content.count(b"Ahead ") == rows
    assert response.content.count(b"Behind ") == min(rows, 20)


def test_the_admin_stores_the_description_rendered(admin_client):
    response = admin_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "title": "From the admin",
            "description": "**bold**",
            "starts_at_0": "2030-01-01",
            "starts_at_1": "05:00:00",
            "ends_at_0": "2030-01-01",
            "ends_at_1": "06:00:00",
        },
    )
    assert response.status_code == 302, response.content
    assert Maintenance.objects.get().description_html == "<p><strong>bold</strong></p>"


def _admin_form(**fields) -> dict:
    return {
        "title": "From the admin",
        "description": "**bold**",
        "starts_at_0": "2030-01-01",
        "starts_at_1": "05:00:00",
        "ends_at_0": "2030-01-01",
        "ends_at_1": "06:00:00",
    } | fields


def test_what_the_admin_saves_or_deletes_shows_on_the_status_page_at_once(
    admin_client, django_capture_on_commit_callbacks
):
    status = Client()
    assert b"From the admin" not in status.get("/status/").content  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:incidents_maintenance_add"), _admin_form())
    assert response.status_code == 302, response.content
    window = Maintenance.objects.get()
    assert b"From the admin" in status.get("/status/").content

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:incidents_maintenance_change", args=[window.pk]),
            _admin_form(title="Renamed in the admin", description="*new*"),
        )
    assert response.status_code == 302, response.content
    window.refresh_from_db()
    assert window.description_html == "<p><em>new</em></p>"
    assert b"Renamed in the admin" in status.get("/status/").content

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:incidents_maintenance_delete", args=[window.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Maintenance.objects.exists()
    assert b"Renamed in the admin" not in status.get("/status/").content


def test_the_admins_bulk_delete_goes_through_the_service(
    admin_client, django_capture_on_commit_callbacks
):
    windows = [_window(title=f"Window {i}") for i in range(2)]
    status = Client()
    assert b"Window 1" in status.get("/status/").content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:incidents_maintenance_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [w.pk for w in windows],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    assert not Maintenance.objects.exists()
    assert b"Window 1" not in status.get("/status/").content


def test_what_the_service_refuses_shows_beside_its_field_in_the_admin(admin_client):
    """The admin's form has no Markdown limit of its own: the service's check answers, on the
    form, not with a server error."""
    window = _window()
    oversized = "x" * (settings.HINDSIGHT_MARKDOWN_MAX_LENGTH + 1)
    for url in (
        reverse("admin:incidents_maintenance_add"),
        reverse("admin:incidents_maintenance_change", args=[window.pk]),
    ):
        response = admin_client.post(url, _admin_form(description=oversized))
        assert response.status_code == 200, url
        errors = response.context["adminform"].form.errors
        assert errors == {
            "description": [f"At most {settings.HINDSIGHT_MARKDOWN_MAX_LENGTH} characters."]
        }
    assert list(Maintenance.objects.values_list("title", "description")) == [("Upgrade", "")]


def test_the_service_refuses_an_oversized_description_whoever_calls_it():
    with pytest.raises(ValidationError) as refused:
        maintenance_create(
            title="Too long",
            description="x" * (settings.HINDSIGHT_MARKDOWN_MAX_LENGTH + 1),
            starts_at=timezone.now() + timedelta(days=1),
            ends_at=timezone.now() + timedelta(days=2),
        )
    assert list(refused.value.message_dict) == ["description"]
    assert not Maintenance.objects.exists()


def test_the_service_refuses_markdown_nested_too_deeply_on_its_field():
    with pytest.raises(ValidationError) as refused:
        maintenance_create(
            title="Deep",
            description="1. " * 3000,
            starts_at=timezone.now() + timedelta(days=1),
            ends_at=timezone.now() + timedelta(days=2),
        )
    assert "too deeply" in refused.value.message_dict["description"][0]
    assert not Maintenance.objects.exists()


def test_the_admin_lists_subscribers_and_unsubscribes_them(admin_client):
    from incidents.models import Subscriber

    subscriber = Subscriber.objects.create(email="reader@example.test", confirmed_at=timezone.now())
    earlier = timezone.now() - timedelta(days=3)
    left = Subscriber.objects.create(email="left@example.test", unsubscribed_at=earlier)
    assert (
        b"reader@example.test"
        in admin_client.get(reverse("admin:incidents_subscriber_changelist")).content
    )
    response = admin_client.post(
        reverse("admin:incidents_subscriber_changelist"),
        {"action": "unsubscribe", "_selected_action": [subscriber.pk, left.pk]},
        follow=True,
    )
    assert b"1 address(es) unsubscribed." in response.content
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    left.refresh_from_db()
    assert left.unsubscribed_at == earlier  # an earlier unsubscribe keeps its date
