"""Attachments: files pasted or dropped into an incident's texts, stored through the storage
API, shown inline only when their bytes are a raster image, and fetched only after logging in."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.rendering import render
from incidents.documents.exports import export_incident
from incidents.models import Attachment, Incident, TimelineEvent
from incidents.postmortem import services as postmortem_services
from tests.factories import T0, IncidentFactory, TimelineEventFactory, user_with_role

pytestmark = pytest.mark.django_db

# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5f0000000049454e44ae426082"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Every file these tests store goes to a folder of their own, removed afterwards."""
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return tmp_path


@pytest.fixture
def incident():
    return IncidentFactory()


@pytest.fixture
def editor(client):
    user = user_with_role("editor")
    client.force_login(user)
    return user


def upload(client, incident, name, content, **extra):
    return client.post(
        reverse("incidents:attachment_upload", args=[incident.reference]),
        {"file": SimpleUploadedFile(name, content, content_type="image/png"), **extra},
        headers={"accept": "application/json"},
    )


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


class TestUpload:
    def test_a_png_an_editor_pastes_is_stored_and_answered_with_an_image_to_insert(
        self, client, editor, incident, media
    ):
        response = upload(client, incident, "latency graph.png", PNG)

        assert response.status_code == 201
        attachment = Attachment.objects.get()
        body = response.json()
        assert (
            body["markdown"]
            == f"![latency graph.png](/attachments/{attachment.pk}/latency%20graph.png)"
        )
        assert body["inline"] is True
        assert (attachment.incident, attachment.uploaded_by) == (incident, editor)
        assert attachment.content_type == "image/png"
        assert attachment.size == len(PNG)
        assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
        [path] = stored_files(media)
        assert path.read_bytes() == PNG

    def test_a_file_over_the_limit_is_refused_with_413_and_the_limit_named(
        self, client, editor, incident, media, settings
    ):
        settings.HINDSIGHT_ATTACHMENT_MAX_MB = 1
        response = upload(client, incident, "big.log", b"x" * (1024 * 1024 + 1))

        assert response.status_code == 413
        assert response.json() == {
            "error": "This file is larger than 1 MB, the limit for attachments.",
            "field": "file",
        }
        assert not Attachment.objects.exists()
        assert stored_files(media) == []

    def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
        self, client, editor, incident, settings
    ):
        settings.HINDSIGHT_ATTACHMENT_MAX_MB = 1
        response = upload(client, incident, "huge.log", b"x" * (2 * 1024 * 1024))

        assert response.status_code == 413
        assert "larger than 1 MB" in response.json()["error"]

    def test_a_file_at_the_limit_is_taken(self, client, editor, incident, settings):
        settings.HINDSIGHT_ATTACHMENT_MAX_MB = 1
        assert upload(client, incident, "edge.log", b"x" * (1024 * 1024)).status_code == 201

    def test_an_empty_file_is_refused_beside_the_field(self, client, editor, incident):
        response = upload(client, incident, "empty.png", b"")
        assert response.status_code == 422
        assert response.json()["field"] == "file"
        assert not Attachment.objects.exists()

    def test_a_viewer_cannot_upload(self, client, incident, media):
        client.force_login(user_with_role("viewer"))
        assert upload(client, incident, "shot.png", PNG).status_code == 403
        assert not Attachment.objects.exists()
        assert stored_files(media) == []

    def test_anonymous_upload_is_sent_to_login(self, client, incident):
        response = upload(client, incident, "shot.png", PNG)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert not Attachment.objects.exists()

    def test_a_name_with_folders_and_brackets_is_kept_as_a_plain_name(
        self, client, editor, incident
    ):
        response = upload(client, incident, "C:\\shots\\graph [p99].png", PNG)
        attachment = Attachment.objects.get()
        assert attachment.name == "graph [p99].png"
        assert response.json()["markdown"].startswith("![graph \\[p99\\].png](")


class TestTypesByContent:
    def test_a_png_is_shown_inline_with_nosniff(self, client, editor, incident):
        upload(client, incident, "shot.png", PNG)
        attachment = Attachment.objects.get()

        response = client.get(attachment.path)

        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PNG

    def test_an_svg_is_a_download_never_an_image_in_the_page(self, client, editor, incident):
        body = upload(client, incident, "diagram.svg", SVG).json()
        attachment = Attachment.objects.get()
        assert attachment.content_type == "image/svg+xml"
        assert body["inline"] is False
        assert body["markdown"] == f"[diagram.svg](/attachments/{attachment.pk}/diagram.svg)"

        response = client.get(attachment.path)

        assert response["Content-Disposition"].startswith("attachment")
        assert 'filename="diagram.svg"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "application/octet-stream"

    def test_an_html_file_is_a_download(self, client, editor, incident):
        upload(client, incident, "report.html", HTML)
        attachment = Attachment.objects.get()
        response = client.get(attachment.path)
        assert attachment.content_type == "text/html"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_an_html_file_named_png_is_judged_by_its_content(self, client, editor, incident):
        body = upload(client, incident, "graph.png", HTML).json()
        attachment = Attachment.objects.get()

        assert attachment.content_type == "text/html"
        assert body["inline"] is False
        assert not body["markdown"].startswith("!")
        response = client.get(attachment.path)
        assert response["Content-Disposition"].startswith("attachment")
        assert response["Content-Type"] == "application/octet-stream"
        assert response["X-Content-Type-Options"] == "nosniff"

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
            (b"GIF89a\x01\x00\x01\x00", "image/gif"),
            (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
            (b"2026-01-09 06:02 worker exited 1\n", "text/plain"),
            (b"%PDF-1.7\n", "application/pdf"),
            (b"\x00\x01\x02\x03binary", "application/octet-stream"),
        ],
    )
    def test_other_files_get_the_type_their_bytes_say(
        self, client, editor, incident, content, content_type
    ):
        upload(client, incident, "whatever.png", content)
        assert Attachment.objects.get().content_type == content_type

    def test_a_text_log_is_served_as_a_download(self, client, editor, incident):
        upload(client, incident, "worker.log", b"06:02 worker exited 1\n")
        response = client.get(Attachment.objects.get().path)
        assert response["Content-Type"] == "text/plain"
        assert response["Content-Disposition"].startswith("attachment")


class TestFetching:
    def test_anonymous_is_sent_to_login(self, client, editor, incident):
        upload(client, incident, "shot.png", PNG)
        path = Attachment.objects.get().path
        client.logout()

        response = client.get(path)

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_a_viewer_may_fetch(self, client, editor, incident):
        upload(client, incident, "shot.png", PNG)
        path = Attachment.objects.get().path
        client.force_login(user_with_role("viewer"))

        assert client.get(path).status_code == 200

    def test_a_wrong_name_is_not_found(self, client, editor, incident):
        upload(client, incident, "shot.png", PNG)
        attachment = Attachment.objects.get()
        assert client.get(f"/attachments/{attachment.pk}/other.png").status_code == 404


class TestRendering:
    def test_an_attachment_image_is_shown(self):
        html = render("![graph](/attachments/7/p99%20latency.png)")
        assert '<img alt="graph" src="/attachments/7/p99%20latency.png">' in html

    @pytest.mark.parametrize(
        "source",
        [
            "https://example.com/track.png",
            "//example.com/attachments/1/a.png",
            "data:image/png;base64,iVBORw0KGgo=",
            "/logout/",
            "/attachments/1/a.png?next=/logout/",
            "/attachments/1/..",
            "javascript:alert(1)",
        ],
    )
    def test_any_other_image_source_is_dropped(self, source):
        html = render(f"![x]({source})")
        assert "src=" not in html

    def test_raw_image_html_keeps_no_handlers(self):
        html = render('<img src="/attachments/1/a.png" onerror="alert(1)">')
        assert "onerror" not in html


class TestTimelineDrop:
    def test_a_file_dropped_onto_an_event_is_linked_at_the_end_of_its_text(
        self, client, editor, incident
    ):
        event = TimelineEventFactory(incident=incident, text="Error rate spiked")
        version = event.version

        response = upload(client, incident, "errors.png", PNG, event=event.pk)

        assert response.status_code == 201
        attachment = Attachment.objects.get()
        event.refresh_from_db()
        assert event.text == f"Error rate spiked\n\n![errors.png]({attachment.path})"
        assert f'src="{attachment.path}"' in event.text_html
        assert event.version == version + 1
        assert attachment.timeline_event == event
        assert response.json()["refresh"].endswith("/part/section-timeline")
        assert event.history.first().history_type == "~"

    def test_a_line_hindsight_wrote_refuses_the_file_and_keeps_nothing(
        self, client, editor, incident, media
    ):
        event = TimelineEventFactory(
            incident=incident, text="Deployed", source=TimelineEvent.Source.DEPLOYMENT
        )

        response = upload(client, incident, "errors.png", PNG, event=event.pk)

        assert response.status_code == 422
        assert "Hindsight wrote this line itself" in response.json()["error"]
        assert not Attachment.objects.exists()
        assert stored_files(media) == []

    def test_an_event_of_another_incident_is_refused(self, client, editor, incident):
        other = TimelineEventFactory(incident=IncidentFactory())
        response = upload(client, incident, "errors.png", PNG, event=other.pk)
        assert response.status_code == 422
        assert not Attachment.objects.exists()


class TestExportAndDeletion:
    def test_the_json_export_lists_the_files(self, client, editor, incident):
        upload(client, incident, "shot.png", PNG)
        attachment = Attachment.objects.get()

        document = export_incident(incident.reference, "json").data
        assert isinstance(document, dict)

        assert document["attachments"] == [
            {
                "id": attachment.pk,
                "name": "shot.png",
                "content_type": "image/png",
                "size": len(PNG),
                "sha256": hashlib.sha256(PNG).hexdigest(),
                "url": attachment.path,
                "file": f"attachments/{attachment.pk}/shot.png",
                "timeline_event": None,
                "uploaded_by": editor.username,
                "created_at": document["attachments"][0]["created_at"],
            }
        ]

    def test_the_zip_holds_the_documents_and_the_files_with_links_into_it(
        self, client, editor, incident
    ):
        upload(client, incident, "p99 graph.png", PNG)
        upload(client, incident, "worker.log", b"06:02 worker exited 1\n")
        image, log = Attachment.objects.order_by("pk")
        postmortem_services.incident_update(
            incident=incident,
            expected_version=incident.version,
            user=editor,
            summary=f"Latency rose.\n\n![p99 graph.png]({image.path})\n\n[worker.log]({log.path})",
        )

        response = client.get(reverse("incidents:postmortem_zip", args=[incident.reference]))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        base = f"{incident.reference}-postmortem"
        assert f'filename="{base}.zip"' in response["Content-Disposition"]
        bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        assert sorted(bundle.namelist()) == sorted(
            [
                f"{base}.md",
                f"{base}.json",
                f"attachments/{image.pk}/p99 graph.png",
                f"attachments/{log.pk}/worker.log",
            ]
        )
        assert bundle.read(f"attachments/{image.pk}/p99 graph.png") == PNG
        assert bundle.read(f"attachments/{log.pk}/worker.log") == b"06:02 worker exited 1\n"
        markdown = bundle.read(f"{base}.md").decode()
        assert f"![p99 graph.png](attachments/{image.pk}/p99%20graph.png)" in markdown
        assert f"[worker.log](attachments/{log.pk}/worker.log)" in markdown
        assert "](/attachments/" not in markdown
        document = json.loads(bundle.read(f"{base}.json"))
        assert [a["file"] for a in document["attachments"]] == [
            f"attachments/{image.pk}/p99 graph.png",
            f"attachments/{log.pk}/worker.log",
        ]

    def test_the_zip_needs_a_login(self, client, incident):
        response = client.get(reverse("incidents:postmortem_zip", args=[incident.reference]))
        assert response.status_code == 302

    def test_a_file_of_a_hidden_line_stays_out_of_the_exports(self, client, editor, incident):
        event = TimelineEventFactory(incident=incident, occurred_at=T0 + timedelta(minutes=1))
        upload(client, incident, "private.png", PNG, event=event.pk)
        TimelineEvent.objects.filter(pk=event.pk).update(hidden=True)

        document = export_incident(incident.reference, "json").data
        assert isinstance(document, dict)
        assert document["attachments"] == []

    def test_deleting_the_incident_deletes_its_files(
        self, client, editor, incident, media, django_capture_on_commit_callbacks
    ):
        upload(client, incident, "shot.png", PNG)
        upload(client, incident, "worker.log", b"log\n")
        other = IncidentFactory()
        upload(client, other, "kept.png", PNG)
        assert len(stored_files(media)) == 3

        with django_capture_on_commit_callbacks(execute=True):
            postmortem_services.incident_delete(incident=incident, user=editor)

        assert not Incident.objects.filter(pk=incident.pk).exists()
        assert Attachment.objects.count() == 1
        [kept] = stored_files(media)
        assert kept.read_bytes() == PNG


class TestAdmin:
    def test_an_admin_deleting_a_file_removes_it_from_the_storage(
        self, client, editor, incident, media, django_capture_on_commit_callbacks
    ):
        upload(client, incident, "shot.png", PNG)
        attachment = Attachment.objects.get()
        client.force_login(user_with_role("admin", is_staff=True))

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:incidents_attachment_delete", args=[attachment.pk]),
                {"post": "yes"},
            )

        assert response.status_code == 302
        assert not Attachment.objects.exists()
        assert stored_files(media) == []

    def test_the_admin_links_to_the_app_never_to_the_storage(self, client, editor, incident):
        upload(client, incident, "shot.png", PNG)
        attachment = Attachment.objects.get()
        client.force_login(user_with_role("admin", is_staff=True))

        page = client.get(reverse("admin:incidents_attachment_change", args=[attachment.pk]))

        assert f'href="{attachment.path}"' in page.content.decode()
        assert attachment.file.name not in page.content.decode()
