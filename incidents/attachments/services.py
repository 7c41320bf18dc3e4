"""Writes of attachments: storing an upload, putting its link into a timeline event, and
clearing away files no text uses (an upload into a form that was then cancelled)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from incidents.attachments.selectors import attachments_linked
from incidents.attachments.sniff import HEAD_BYTES, sniff
from incidents.attachments.storage import attachment_files_delete
from incidents.models import Attachment, Incident, TimelineEvent
from incidents.postmortem.services import StaleRow, comparable, part_save

NAME_MAX_LENGTH = 200
# Someone else saving the event between our read and our write sends the append round again.
APPEND_ATTEMPTS = 3
# Incidents whose unused files one transaction of the clean-up clears.
UNUSED_BATCH = 100


class AttachmentTooLarge(ValidationError):
    """The file is over HINDSIGHT_ATTACHMENT_MAX_MB."""


def max_bytes() -> int:
    return settings.HINDSIGHT_ATTACHMENT_MAX_MB * 1024 * 1024


def too_large_message() -> str:
    return f"This file is larger than {settings.HINDSIGHT_ATTACHMENT_MAX_MB} MB, the limit for attachments."


def clean_name(raw: str) -> str:
    """The file's own name, without a client's folders, control characters or Markdown's
    brackets, and short enough to store; "file" when nothing is left."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().strip(".")
    if len(name) > NAME_MAX_LENGTH:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = (stem if keep else name)[: NAME_MAX_LENGTH - len(keep) - 1].rstrip()
        name = f"{name}.{keep}" if keep else name
    return name or "file"


def _digest_and_head(upload: UploadedFile) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    head = b""
    upload.seek(0)
    for chunk in upload.chunks():
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest(), head


def attachment_upload(
    *,
    incident: Incident,
    upload: UploadedFile,
    user: User | None,
    timeline_event: TimelineEvent | None = None,
) -> Attachment:
    """Store `upload` for `incident`. Raises AttachmentTooLarge over the limit.

    Its type comes from its content, not from its name or the browser. With `timeline_event`
    (one of this incident's), the file's link is added to the end of the event's text.
    """
    size = upload.size or 0
    if size > max_bytes():
        raise AttachmentTooLarge(too_large_message(), code="too_large")
    if timeline_event is not None and timeline_event.incident_id != incident.pk:
        raise ValidationError("That event belongs to another incident.", code="event")
    sha256, head = _digest_and_head(upload)
    attachment = Attachment(
        incident=incident,
        timeline_event=timeline_event,
        name=clean_name(upload.name or ""),
        content_type=sniff(head),
        size=size,
        sha256=sha256,
        uploaded_by=user,
    )
    # The file is written first (storage is no part of the transaction); a failed insert or
    # append removes it again, so no file outlives a row that was never committed.
    attachment.file.save("upload", upload, save=False)
    try:
        with transaction.atomic():
            attachment.full_clean()
            attachment.save()
            if timeline_event is not None:
                _append_link(event=timeline_event, attachment=attachment, user=user)
    except BaseException:
        if attachment.file.name:
            default_storage.delete(attachment.file.name)
        raise
    return attachment


def _append_link(*, event: TimelineEvent, attachment: Attachment, user: User | None) -> None:
    for _attempt in range(APPEND_ATTEMPTS):
        event.refresh_from_db()
        text = event.text.rstrip()
        event.text = (
            f"{text}\n\n{attachment_markdown(attachment)}"
            if text
            else attachment_markdown(attachment)
        )
        try:
            part_save(
                row=event,
                user=user,
                fields=["text"],
                expected_version=event.version,
                base={"text": comparable(text)},
            )
            return
        except StaleRow:
            continue
    raise ValidationError("The event kept changing; try again.", code="busy")


def attachment_markdown(attachment: Attachment) -> str:
    """What a text shows for the file: the image itself when it is one, else a link."""
    label = re.sub(r"([\\\[\]])", r"\\\1", attachment.name)
    link = f"[{label}]({attachment.path})"
    return f"!{link}" if attachment.inline else link


@transaction.atomic
def attachment_delete(*, attachment: Attachment) -> None:
    """Remove the row, and its file once that is committed. Texts that link to it keep the
    link, which then answers 404: what someone wrote is never rewritten behind their back."""
    name = attachment.file.name
    attachment.delete()
    attachment_files_delete([name or ""])


def attachments_unused_delete(*, uploaded_before: datetime) -> int:
    """Delete the files uploaded before `uploaded_before` that no stored Markdown of their
    incident links to: what was pasted into a form that was then cancelled, or whose link
    every text has since lost. Their stored files go once each batch is committed. Returns how
    many were deleted; running it again deletes nothing more."""
    incident_ids = list(
        Attachment.objects.filter(created_at__lt=uploaded_before)
        .order_by("incident_id")
        .values_list("incident_id", flat=True)
        .distinct()
    )
    deleted = 0
    for start in range(0, len(incident_ids), UNUSED_BATCH):
        deleted += _unused_delete(incident_ids[start : start + UNUSED_BATCH], uploaded_before)
    return deleted


@transaction.atomic
def _unused_delete(incident_ids: list[int], uploaded_before: datetime) -> int:
    # Locked first: a second clean-up at once waits here, then finds these rows gone.
    old = list(
        Attachment.objects.select_for_update()
        .filter(incident_id__in=incident_ids, created_at__lt=uploaded_before)
        .values_list("pk", "incident_id", "file")
    )
    linked = attachments_linked(incident_ids)
    unused = {pk: name for pk, incident_id, name in old if (incident_id, pk) not in linked}
    if not unused:
        return 0
    deleted, _by_model = Attachment.objects.filter(pk__in=unused).delete()
    attachment_files_delete(unused.values())
    return deleted
