"""Attachments over the API: one file per multipart request, typed by its bytes, refused with a
413 problem over the limit, by role, and listed in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Attachment, TimelineEvent
from tests.api.test_incidents_api import API, PROBLEM, bearer
from tests.factories import IncidentFactory, TimelineEventFactory, user_with_role
from tests.incidents.test_attachments import HTML, PNG

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def editor():
    return bearer(user_with_role("editor"))


def post_file(client, incident, name, content, **extra):
    return client.post(
        f"{API}/incidents/{incident.reference}/attachments",
        {"file": SimpleUploadedFile(name, content), **extra},
        format="multipart",
    )


def test_an_editor_attaches_a_png_and_gets_the_markdown_to_show_it(editor, incident):
    response = post_file(editor, incident, "graph.png", PNG)

    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    body = response.json()
    assert body["content_type"] == "image/png"
    assert body["url"] == attachment.path
    assert body["markdown"] == f"![graph.png]({attachment.path})"
    assert body["uploaded_by"] == "editor-user"


def test_an_html_page_named_png_is_typed_by_its_bytes(editor, incident):
    body = post_file(editor, incident, "graph.png", HTML).json()
    assert body["content_type"] == "text/html"
    assert not body["markdown"].startswith("!")


def test_a_file_over_the_limit_is_a_413_problem(editor, incident, settings, media):
    settings.HINDSIGHT_ATTACHMENT_MAX_MB = 1

    response = post_file(editor, incident, "big.log", b"x" * (1024 * 1024 + 1))

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:hindsight:problem:attachment-too-large"
    assert problem["detail"] == "This file is larger than 1 MB, the limit for attachments."
    assert not Attachment.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_a_request_without_a_file_is_a_400_naming_the_field(editor, incident):
    response = editor.post(
        f"{API}/incidents/{incident.reference}/attachments", {}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_two_files_in_one_request_are_refused(editor, incident):
    response = editor.post(
        f"{API}/incidents/{incident.reference}/attachments",
        {"file": [SimpleUploadedFile("a.png", PNG), SimpleUploadedFile("b.png", PNG)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_a_json_body_is_a_415(editor, incident):
    response = editor.post(
        f"{API}/incidents/{incident.reference}/attachments", {"file": "x"}, format="json"
    )
    assert response.status_code == 415


def test_a_line_hindsight_wrote_refuses_the_file(editor, incident):
    event = TimelineEventFactory(incident=incident, source=TimelineEvent.Source.HEALTH)
    response = post_file(editor, incident, "graph.png", PNG, event=event.pk)
    assert response.status_code == 400
    assert "event" in response.json()["errors"]
    assert not Attachment.objects.exists()


def test_a_viewer_reads_the_list_but_cannot_attach(incident):
    viewer = bearer(user_with_role("viewer"))
    assert post_file(viewer, incident, "graph.png", PNG).status_code == 403
    assert viewer.get(f"{API}/incidents/{incident.reference}/attachments").json() == []


def test_a_read_token_cannot_attach(incident):
    reader = bearer(user_with_role("editor"), scope="read")
    assert post_file(reader, incident, "graph.png", PNG).status_code == 403


def test_anonymous_is_a_401(client, incident):
    response = client.get(f"{API}/incidents/{incident.reference}/attachments")
    assert response.status_code == 401


@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_costs_the_same_queries_for_1_and_50_files(editor, incident, rows):
    uploader = user_with_role("admin")
    Attachment.objects.bulk_create(
        Attachment(
            incident=incident,
            file=f"attachments/{incident.pk}/{i}",
            name=f"file-{i}.log",
            content_type="text/plain",
            size=1,
            sha256="0" * 64,
            uploaded_by=uploader,
        )
        for i in range(rows)
    )
    with CaptureQueriesContext(connection) as queries:
        response = editor.get(f"{API}/incidents/{incident.reference}/attachments")
    assert response.status_code == 200
    assert len(response.json()) == rows
    # the token with its user, its last use, the user's and the groups' permissions, the
    # incident, and the files with their uploaders: the same for 1 file and for 50
    assert len(queries) == 6
