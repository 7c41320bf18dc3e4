"""Removing stored files. Apart from the services so that the post-mortem's incident_delete can
use it without importing the attachments' services, which import the post-mortem's."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction


def attachment_files_delete(names: Iterable[str]) -> None:
    """Remove stored files once the rows naming them are gone for good: after the commit, so a
    rolled-back deletion leaves every file in place."""
    wanted = [name for name in names if name]
    if not wanted:
        return

    def remove() -> None:
        for name in wanted:
            default_storage.delete(name)

    transaction.on_commit(remove)
