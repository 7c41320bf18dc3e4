"""What a file is, read from its first bytes. The browser's Content-Type and the file's name are
claims anyone can make: a page that shows an "image" inline must know it is one."""

from __future__ import annotations

import re

# Enough for every signature below and for telling markup from text.
HEAD_BYTES = 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)
# Markup a browser would run (scripts, SVG's own scripts), wherever it starts in the head.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|script|iframe|svg|\?xml)\b", re.IGNORECASE
)


def sniff(head: bytes) -> str:
    """The content type of a file whose first bytes are `head`."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    match = _MARKUP.search(head)
    if match:
        tag = match.group(0).lower()
        if b"svg" in tag:
            return "image/svg+xml"
        if b"?xml" in tag:
            return "image/svg+xml" if b"<svg" in head.lower() else "application/xml"
        return "text/html"
    if b"\x00" not in head:
        try:
            # A multi-byte character cut at the end of the head is still text.
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 3:
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"
