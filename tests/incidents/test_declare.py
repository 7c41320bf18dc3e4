from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import resolve, reverse

from core.roles import Role
from incidents.models import Incident
from tests.factories import IncidentFactory, ServiceFactory, user_with_role
from tests.helpers import search

pytestmark = pytest.mark.django_db

DECLARE = "incidents:declare"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def editor(client):
    user = user_with_role(Role.EDITOR)
    client.force_login(user)
    return user


@pytest.fixture
def service():
    return ServiceFactory(name="Shop", slug="shop")


def valid_data(service, /, **changes) -> dict[str, str]:
    data = {
        "service": str(service.pk),
        "title": "Checkout returns 500",
        "severity": "sev2",
        "started_at": "2026-03-10T11:42",
    }
    data.update(changes)
    return data


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<span class="error" id="id_{name}_error">([^<]*)</span>', html)
    assert match is not None, f"no error beside {name}"
    return match.group(1)


class TestAccess:
    def test_the_url_is_not_mistaken_for_a_reference(self):
        assert reverse(DECLARE) == "/incidents/new/"
        assert resolve("/incidents/new/").view_name == DECLARE

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_anonymous_is_sent_to_login(self, client, method, service):
        response = getattr(client, method)(reverse(DECLARE), valid_data(service))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert not Incident.objects.exists()

    def test_viewer_may_not_open_the_form(self, client):
        client.force_login(user_with_role(Role.VIEWER))
        assert client.get(reverse(DECLARE)).status_code == 403

    @time_machine.travel(NOW, tick=False)
    def test_viewer_may_not_declare_by_posting(self, client, service):
        client.force_login(user_with_role(Role.VIEWER))
        assert client.post(reverse(DECLARE), valid_data(service)).status_code == 403
        assert not Incident.objects.exists()

    @pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
    def test_editors_and_admins_may_open_the_form(self, client, role):
        client.force_login(user_with_role(role))
        assert client.get(reverse(DECLARE)).status_code == 200

    @time_machine.travel(NOW, tick=False)
    @pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
    def test_editors_and_admins_may_declare(self, client, role, service):
        client.force_login(user_with_role(role))
        assert client.post(reverse(DECLARE), valid_data(service)).status_code == 302
        assert Incident.objects.count() == 1


class TestForm:
    @time_machine.travel(NOW, tick=False)
    def test_start_defaults_to_now_to_the_minute(self, client, editor):
        html = client.get(reverse(DECLARE)).content.decode()
        field = search(r'<input[^>]*name="started_at"[^>]*>', html).group(0)
        # Typed as every page shows a time: the date and a 24-hour clock, in a zone the label
        # names (a datetime-local input shows the browser's locale, 06:18 AM in some).
        assert 'type="text"' in field
        assert 'value="2026-03-10 12:00"' in field
        assert 'Started at <span class="meta">(UTC)</span>' in html

    def test_services_are_offered_by_name(self, client, editor):
        ServiceFactory(name="Zebra", slug="zebra")
        ServiceFactory(name="Aardvark", slug="aardvark")
        html = client.get(reverse(DECLARE)).content.decode()
        assert html.index("Aardvark") < html.index("Zebra")


class TestDeclaring:
    @time_machine.travel(NOW, tick=False)
    def test_declaring_creates_the_incident_and_opens_its_page(self, client, editor, service):
        IncidentFactory(number=6)
        response = client.post(reverse(DECLARE), valid_data(service))
        incident = Incident.objects.get(title="Checkout returns 500")
        assert incident.reference == "INC-7"
        assert response.status_code == 302
        assert response.url == reverse("incidents:detail", args=["INC-7"])
        assert incident.service == service
        assert incident.severity == "sev2"
        assert incident.started_at == datetime(2026, 3, 10, 11, 42, tzinfo=UTC)
        assert incident.status == Incident.Status.INVESTIGATING
        assert incident.created_by == editor
        assert list(incident.authors.all()) == [editor]

    @time_machine.travel(NOW, tick=False)
    def test_a_start_a_minute_ahead_of_the_clock_is_accepted(self, client, editor, service):
        response = client.post(reverse(DECLARE), valid_data(service, started_at="2026-03-10T12:01"))
        assert response.status_code == 302


class TestBadInput:
    @time_machine.travel(NOW, tick=False)
    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"title": ""}, "title", "required"),
            ({"title": "   "}, "title", "required"),
            ({"title": "x" * 201}, "title", "at most 200 characters"),
            ({"started_at": "yesterday-ish"}, "started_at", "valid date/time"),
            ({"started_at": "2026-02-30T10:00"}, "started_at", "valid date/time"),
            ({"started_at": ""}, "started_at", "required"),
            ({"started_at": "2026-03-10T12:30"}, "started_at", "future"),
            ({"started_at": "2027-01-01T00:00"}, "started_at", "future"),
            ({"severity": "sev9"}, "severity", "valid choice"),
            ({"service": "999999"}, "service", "valid choice"),
            ({"service": "shop"}, "service", "valid choice"),
            ({"service": ""}, "service", "required"),
        ],
    )
    def test_bad_input_is_refused_with_the_error_beside_its_field(
        self, client, editor, service, changes, field, message
    ):
        data = valid_data(service, **changes)
        response = client.post(reverse(DECLARE), data)
        assert response.status_code == 422
        assert not Incident.objects.exists()
        html = response.content.decode()
        assert message in field_error(html, field)
        widget = search(rf'<(?:input|select)[^>]*name="{field}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in widget
        described_by = search(r'aria-describedby="([^"]*)"', widget).group(1).split()
        assert f"id_{field}_error" in described_by

    @time_machine.travel(NOW, tick=False)
    def test_what_was_typed_stays_in_the_form(self, client, editor, service):
        data = valid_data(service, title="Cart <empty>", started_at="not a time")
        html = client.post(reverse(DECLARE), data).content.decode()
        assert 'value="Cart &lt;empty&gt;"' in html
        assert 'value="not a time"' in html
        assert f'<option value="{service.pk}" selected>' in html
        assert '<option value="sev2" selected>' in html

    @time_machine.travel(NOW, tick=False)
    def test_a_too_long_title_is_kept_to_be_shortened(self, client, editor, service):
        title = "x" * 201
        html = client.post(reverse(DECLARE), valid_data(service, title=title)).content.decode()
        assert f'value="{title}"' in html

    def test_other_methods_are_not_allowed(self, client, editor):
        assert client.put(reverse(DECLARE)).status_code == 405


class TestDeclaringTwice:
    """Back after declaring, then submitting again, opens the incident the first submit made."""

    def test_the_same_form_submitted_twice_declares_one_incident(self, client, editor, service):
        form = client.get(reverse(DECLARE)).context["form"]
        data = valid_data(service, creation_key=str(form["creation_key"].value()))

        first = client.post(reverse(DECLARE), data)
        again = client.post(reverse(DECLARE), data, follow=True)

        assert Incident.objects.count() == 1
        assert again.redirect_chain[-1][0] == first.url
        assert "was declared with this form already" in again.content.decode()

    def test_a_form_whose_key_was_lost_finds_the_same_declaration_minutes_ago(
        self, client, editor, service
    ):
        client.post(reverse(DECLARE), valid_data(service, creation_key=str(uuid.uuid4())))
        client.post(reverse(DECLARE), valid_data(service, creation_key=str(uuid.uuid4())))
        assert Incident.objects.count() == 1

    def test_another_incident_is_still_declared(self, client, editor, service):
        client.post(reverse(DECLARE), valid_data(service))
        client.post(reverse(DECLARE), valid_data(service, title="Search is slow"))
        assert Incident.objects.count() == 2


class TestSessionExpiry:
    """Typing into a form, the session expiring, then saving: nothing typed is lost."""

    def test_the_text_waits_on_the_form_after_logging_in_again(self, client, editor, service):
        client.logout()  # the session ran out
        typed = valid_data(service, title="Typed before the session ran out")

        response = client.post(reverse(DECLARE), typed)

        assert response.url == f"{reverse('login')}?next={reverse(DECLARE)}"
        assert not Incident.objects.exists()
        client.force_login(editor)
        form = client.get(reverse(DECLARE))
        html = form.content.decode()
        assert 'value="Typed before the session ran out"' in html
        assert "Here is what you typed before your session expired" in html
        # Once: the next visit is a fresh form.
        assert "Typed before" not in client.get(reverse(DECLARE)).content.decode()

    def test_an_in_place_save_moves_the_page_to_the_login_and_keeps_the_text(
        self, client, editor, service
    ):
        incident = IncidentFactory(service=service)
        edit = reverse("incidents:prose_edit", args=[incident.reference, "summary"])
        client.logout()

        response = client.post(
            edit,
            {"value": "A long summary.", "version": 1, "base": ""},
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL=f"http://testserver/incidents/{incident.reference}/",
        )

        # The whole page goes to the login, never the login form swapped into the section.
        assert response.status_code == 200
        assert response["HX-Redirect"] == f"{reverse('login')}?next={edit}"
        client.force_login(editor)
        assert "A long summary." in client.get(edit).content.decode()

    def test_another_forms_page_never_sees_the_text(self, client, editor, service):
        client.logout()
        client.post(reverse(DECLARE), valid_data(service, title="Only for the declare form"))
        client.force_login(editor)
        maintenance = client.get(reverse("incidents:maintenance_create")).content.decode()
        assert "Only for the declare form" not in maintenance


class TestNotServedStale:
    def test_signed_in_pages_are_not_kept_by_the_browser(self, client, editor):
        response = client.get(reverse("incidents:list"))
        assert "no-store" in response["Cache-Control"]

    def test_the_public_status_page_keeps_its_own_caching(self, client, editor):
        response = client.get(reverse("incidents:status_page"))
        assert "no-store" not in response.get("Cache-Control", "")


def test_the_preview_never_moves_the_page_away_from_what_is_being_typed(client, editor):
    """It asks by itself while someone types; a session that ran out meanwhile must not send
    the page to the login, text and all."""
    client.logout()
    response = client.post(
        reverse("incidents:preview") + "?field=value",
        {"value": "half a sentence"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/incidents/INC-1/",
    )
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert "Your session has expired, so there is no preview" in response.content.decode()
