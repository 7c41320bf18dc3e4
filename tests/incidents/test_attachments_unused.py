"""Files nobody uses are cleared away: a file uploaded into a form that was then cancelled (so no
saved text links to it) is deleted, row and stored file, once older than the grace period; a
file any text of its incident links to stays, and so does a young one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from celery.result import EagerResult
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.attachments.selectors import INCIDENT_MARKDOWN
from incidents.attachments.services import attachment_upload, attachments_unused_delete
from incidents.attachments.tasks import attachments_unused_delete as unused_task
from incidents.documents.rerendering import STORED_MARKDOWN
from incidents.models import (
    Attachment,
    Audience,
    Communication,
    FinalNote,
    Incident,
    PathPriority,
    SolutionOption,
    StatusItem,
)
from incidents.postmortem.services import incident_update
from tests.factories import (
    ActionItemFactory,
    CauseFactory,
    IncidentFactory,
    LessonFactory,
    SuccessCriterionFactory,
    TimelineEventFactory,
)
from tests.incidents.test_attachments import PNG, stored_files

pytestmark = pytest.mark.django_db

DAY = timedelta(hours=24)


def attach(incident: Incident, name: str = "graph.png", *, age: timedelta = 2 * DAY) -> Attachment:
    """A file uploaded `age` ago."""
    attachment = attachment_upload(
        incident=incident, upload=SimpleUploadedFile(name, PNG), user=None
    )
    Attachment.objects.filter(pk=attachment.pk).update(created_at=timezone.now() - age)
    return attachment


def link(attachment: Attachment) -> str:
    return f"See ![{attachment.name}]({attachment.path}) for the p99."


def sweep(capture) -> int:
    with capture(execute=True):
        return attachments_unused_delete(uploaded_before=timezone.now() - DAY)


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
def incident() -> Incident:
    return IncidentFactory()


def test_an_old_file_no_text_links_to_is_deleted_with_its_stored_file(
    incident, media, django_capture_on_commit_callbacks
):
    used = attach(incident, "used.png")
    unused = attach(incident, "cancelled.png")
    incident_update(incident=incident, expected_version=incident.version, summary=link(used))
    assert len(stored_files(media)) == 2

    assert sweep(django_capture_on_commit_callbacks) == 1

    assert list(Attachment.objects.values_list("pk", flat=True)) == [used.pk]
    assert not Attachment.objects.filter(pk=unused.pk).exists()
    [kept] = stored_files(media)
    assert kept == media / str(used.file.name)


def test_a_young_file_no_text_links_to_yet_is_kept(incident, django_capture_on_commit_callbacks):
    young = attach(incident, age=timedelta(hours=23))
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert Attachment.objects.filter(pk=young.pk).exists()


def test_running_it_twice_deletes_nothing_more(incident, media, django_capture_on_commit_callbacks):
    used = attach(incident, "used.png")
    attach(incident, "a.png")
    attach(incident, "b.log")
    TimelineEventFactory(incident=incident, text=link(used))

    assert sweep(django_capture_on_commit_callbacks) == 2
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert list(Attachment.objects.values_list("pk", flat=True)) == [used.pk]
    assert len(stored_files(media)) == 1


def test_a_file_whose_link_a_text_once_had_is_kept_so_restoring_that_text_works(
    incident, django_capture_on_commit_callbacks
):
    attachment = attach(incident)
    incident = incident_update(
        incident=incident, expected_version=incident.version, summary=link(attachment)
    )
    incident_update(incident=incident, expected_version=incident.version, summary="Rewritten.")
    assert attachment.path not in Incident.objects.get(pk=incident.pk).summary

    assert sweep(django_capture_on_commit_callbacks) == 0
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_a_link_to_another_number_keeps_nothing(incident, django_capture_on_commit_callbacks):
    attachment = attach(incident)
    # Another file's number that starts with this one's: no link to this file.
    incident_update(
        incident=incident,
        expected_version=incident.version,
        summary=f"[other](/attachments/{attachment.pk}0/other.png)",
    )
    assert sweep(django_capture_on_commit_callbacks) == 1


def test_a_full_address_of_the_file_keeps_it(incident, django_capture_on_commit_callbacks):
    attachment = attach(incident)
    incident_update(
        incident=incident,
        expected_version=incident.version,
        impact=f"<https://hindsight.example.com{attachment.path}>",
    )
    assert sweep(django_capture_on_commit_callbacks) == 0


def _priority(incident: Incident, text: str) -> None:
    PathPriority.objects.create(incident=incident, title="Restore checkout", detail=text)


def _option(incident: Incident, text: str) -> None:
    priority = PathPriority.objects.create(incident=incident, title="Restore checkout")
    SolutionOption.objects.create(priority=priority, label="A", title="Roll back", detail=text)


ROWS: dict[str, Callable[[Incident, str], object]] = {
    "next step": lambda incident, text: Incident.objects.filter(pk=incident.pk).update(
        next_step=text
    ),
    "timeline event": lambda incident, text: TimelineEventFactory(incident=incident, text=text),
    "cause": lambda incident, text: CauseFactory(incident=incident, detail=text),
    "lesson": lambda incident, text: LessonFactory(incident=incident, text=text),
    "action item": lambda incident, text: ActionItemFactory(incident=incident, detail=text),
    "success criterion": lambda incident, text: SuccessCriterionFactory(
        incident=incident, text=text
    ),
    "status line": lambda incident, text: StatusItem.objects.create(
        incident=incident, kind=StatusItem.Kind.KNOWN_ISSUE, label="Slow search", detail=text
    ),
    "path forward": _priority,
    "solution option": _option,
    "final note": lambda incident, text: FinalNote.objects.create(
        incident=incident, kind=FinalNote.Kind.LEARNED, text=text
    ),
    "communication": lambda incident, text: Communication.objects.create(
        incident=incident, audience=Audience.STATUS_PAGE, subject="Update", body=text
    ),
}


@pytest.mark.parametrize("where", ROWS)
def test_a_link_in_any_text_of_the_incident_keeps_the_file(
    where, incident, django_capture_on_commit_callbacks
):
    attachment = attach(incident)
    ROWS[where](incident, link(attachment))
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_every_stored_markdown_of_an_incident_is_searched():
    searched = {model.__name__: model.markdown_fields for model, _path in INCIDENT_MARKDOWN}
    # Maintenance windows belong to no incident: no incident's file is linked from them.
    stored = {name: fields for name, fields in STORED_MARKDOWN.items() if name != "Maintenance"}
    assert searched == stored


def test_the_queries_do_not_grow_with_the_number_of_files(django_capture_on_commit_callbacks):
    counts = []
    for files in (1, 20):
        incident = IncidentFactory()
        for i in range(files):
            attach(incident, f"shot-{i}.png")
        with CaptureQueriesContext(connection) as queries:
            assert sweep(django_capture_on_commit_callbacks) == files
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_through_redis_the_beat_task_deletes_unused_files_once(celery_worker, media, settings):
    settings.HINDSIGHT_ATTACHMENT_UNUSED_HOURS = 24
    incident = IncidentFactory()
    used = attach(incident, "used.png")
    attach(incident, "cancelled.png")
    attach(incident, "young.png", age=timedelta(hours=1))
    incident_update(incident=incident, expected_version=incident.version, summary=link(used))

    result = unused_task.delay()
    assert not isinstance(result, EagerResult)  # it went through Redis and the worker
    assert result.get(timeout=20) == 1
    # A redelivery, or the next beat, finds nothing more.
    assert unused_task.delay().get(timeout=20) == 0

    assert sorted(Attachment.objects.values_list("name", flat=True)) == ["used.png", "young.png"]
    assert len(stored_files(media)) == 2


def test_the_beat_runs_the_clean_up_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["attachments-unused-delete"]
    assert entry["task"] == unused_task.name
    assert entry["schedule"] == 3600.0
