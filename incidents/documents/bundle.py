"""An export with its files: the Markdown and JSON documents and every attachment, as one zip.

The Markdown's links to attachments are made relative to the zip (attachments/<id>/<name>), so
the document opened from the unpacked folder shows its images and finds its files.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from typing import IO

from incidents.attachments.selectors import attachments_exported, zip_member
from incidents.documents.exports import export_incident

# Images and archives are compressed already; squeezing them again only costs time.
_STORED_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/zip",
                 "application/gzip", "application/pdf"}  # fmt: skip
# Files past this size are spooled to disk while the zip is built.
_SPOOL_BYTES = 8 * 1024 * 1024
_APP_LINK = re.compile(r"(\]\()/(attachments/[0-9]+/)")


def relative_links(markdown: str) -> str:
    return _APP_LINK.sub(r"\1\2", markdown)


def postmortem_bundle(reference: str | int) -> tuple[str, IO[bytes]]:
    """(file name, the zip positioned at its start). Raises Incident.DoesNotExist."""
    markdown = export_incident(reference, "md")
    document = export_incident(reference, "json")
    base = f"{markdown.incident.reference}-postmortem"
    # Not closed here: the response streams it and closes it when sent.
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{base}.md", relative_links(markdown.text()))
        bundle.writestr(f"{base}.json", document.text())
        for attachment in attachments_exported(markdown.incident):
            compress = (
                zipfile.ZIP_STORED
                if attachment.content_type in _STORED_TYPES
                else zipfile.ZIP_DEFLATED
            )
            info = zipfile.ZipInfo(zip_member(attachment), attachment.created_at.timetuple()[:6])
            info.compress_type = compress
            with attachment.file.open("rb") as source, bundle.open(info, "w") as target:
                shutil.copyfileobj(source, target)
    out.seek(0)
    return f"{base}.zip", out
