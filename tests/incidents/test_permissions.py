"""The permission matrix over every URL of the incidents app, found by walking its URLconf.

A new view is covered the day it is added: anonymous users are sent to log in, a viewer's forged
POST is refused and writes nothing, and editors and admins get past the door.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse

from incidents.attachments.services import attachment_upload
from incidents.communications.defaults import USER_EMAIL_SLUG, default_templates_ensure
from incidents.communications.services import communication_generate
from incidents.models import Attachment, Cause, Communication, CommunicationTemplate, Incident
from incidents.urls import urlpatterns
from tests.factories import T0, CauseFactory, IncidentFactory, user_with_role

pytestmark = pytest.mark.django_db


def _patterns() -> list[URLPattern]:
    return [p for p in urlpatterns if isinstance(p, URLPattern)]


# Pages that answer 400 without a query string of theirs.
QUERIES = {"live_parts": "?name=summary-box"}


def _url(pattern: URLPattern) -> str:
    """Fill the pattern's parameters with rows the fixture made."""
    cause = Cause.objects.filter(incident__number=1).first()
    assert cause is not None
    values = {
        "reference": "INC-1",
        "key": "causes",
        "pk": cause.pk,
        "field": "summary",
        "name": "summary-box",
        "slug": USER_EMAIL_SLUG,
    }
    assert pattern.name is not None
    if pattern.name.startswith("communication_"):
        values["pk"] = Communication.objects.get(incident__number=1).pk
    if pattern.name == "attachment_file":
        attachment = Attachment.objects.get(incident__number=1)
        values["pk"], values["name"] = attachment.pk, attachment.name
    kwargs = {name: values[name] for name in pattern.pattern.converters}
    return reverse(f"incidents:{pattern.name}", kwargs=kwargs) + QUERIES.get(pattern.name, "")


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in ("incidents", "deployments")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def demo():
    """Just enough for every URL to resolve: INC-1 with a cause, a draft communication and an
    attached file (stored in the tests' own temporary folder)."""
    incident = IncidentFactory(
        number=1, status=Incident.Status.RESOLVED, resolved_at=T0 + timedelta(minutes=16)
    )
    CauseFactory(incident=incident)
    default_templates_ensure()
    template = CommunicationTemplate.objects.get(slug=USER_EMAIL_SLUG)
    communication_generate(incident=incident, template=template, user=None)
    attachment_upload(
        incident=incident, upload=SimpleUploadedFile("worker.log", b"exited 1\n"), user=None
    )
    return incident


PATTERNS = _patterns()


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_anonymous_is_sent_to_log_in(client, demo, pattern):
    url = _url(pattern)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code in (302, 405), (method, response.status_code)
        if response.status_code == 302:
            assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_a_viewers_forged_post_is_refused_and_writes_nothing(client, demo, pattern):
    client.force_login(user_with_role("viewer"))
    before = _row_counts()
    version = Incident.objects.get(number=1).version
    response = client.post(
        _url(pattern),
        {"status": "monitoring", "state": "draft", "value": "forged", "title": "forged"},
    )
    assert response.status_code in (403, 405), response.status_code
    assert _row_counts() == before
    assert Incident.objects.get(number=1).version == version


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_a_viewer_can_read_every_page(client, demo, pattern):
    client.force_login(user_with_role("viewer"))
    response = client.get(_url(pattern))
    # 403: an edit form (viewers may not open it); 405: a POST-only action.
    assert response.status_code in (200, 403, 405), response.status_code


@pytest.mark.parametrize("role", ["editor", "admin"])
@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_editors_and_admins_get_past_the_door(client, demo, pattern, role):
    client.force_login(user_with_role(role))
    response = client.get(_url(pattern))
    assert response.status_code in (200, 405), response.status_code


def test_an_expired_session_sends_the_whole_htmx_page_to_log_in(client, demo):
    """Not the login form swapped into a fragment of the page; and back to the page after."""
    page = reverse("incidents:detail", args=["INC-1"])
    response = client.post(
        reverse("incidents:set_status", args=["INC-1"]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{page}",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={page}"


def test_an_expired_session_on_a_form_comes_back_to_the_form(client, demo):
    form = reverse("incidents:prose_edit", args=["INC-1", "summary"])
    response = client.post(
        form,
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/incidents/INC-1/",
    )
    assert response["HX-Redirect"] == f"{reverse('login')}?next={form}"
