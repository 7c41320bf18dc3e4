"""The public status pages, kept built: one row per document the public reads (the status page,
each public incident's page, the feeds, the JSON summary, each component's badge), holding the
bytes every visitor gets. incidents.statuspage.page.documents reads, rebuilds and marks them."""

from __future__ import annotations

from django.db import models


class PublicDocument(models.Model):
    # What the document is: "status-page", "status-incident:12", "status-badge:3", ...
    key = models.CharField(max_length=100, primary_key=True)
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    # The same bytes gzipped once at build time, so no request compresses.
    gzipped = models.BinaryField()
    # The body's digest: equal tags are equal bytes, whichever process built them.
    etag = models.CharField(max_length=64)
    built_at = models.DateTimeField()
    # Set in the transaction of a write that changes what the document shows; the next reader
    # rebuilds it.
    stale = models.BooleanField(default=False)
    # Until when one process has claimed the rebuild (compare-and-set); the others serve the
    # bytes above meanwhile. A process that dies while building holds it back this long at most.
    claimed_until = models.DateTimeField()

    def __str__(self) -> str:
        return self.key
