"""Writing a backup and restoring one (see the package docstring)."""

from __future__ import annotations

import io
import json

from django.apps import apps
from django.core.management import call_command
from django.db import transaction

# Not backed up: made by migrate in every database (and referred to by natural key), or
# sign-ins that mean nothing in another installation.
EXCLUDED = ["contenttypes", "auth.permission", "sessions"]
# Rows a freshly migrated database already has: these tables may hold them in an "empty" one.
MIGRATE_WRITES = {
    "contenttypes.ContentType",
    "auth.Permission",
    "auth.Group",  # the roles (core.roles), after every migrate
    "incidents.CommunicationTemplate",  # the shipped templates (migration 0004)
    "sessions.Session",  # whoever is signed in to the new installation already
}
# Of those, the ones the backup brings its own of: replaced by the backup's.
REPLACED = ["incidents.CommunicationTemplate", "auth.Group"]


class DatabaseNotEmpty(Exception):
    """Restoring into a database that holds data would mix two installations."""


def backup_write(stream: io.TextIOBase) -> None:
    """Every row except EXCLUDED's, as JSON: models in dependency order, rows by primary key,
    keys sorted."""
    dumped = io.StringIO()
    call_command(
        "dumpdata",
        format="backup-json",  # Django's JSON with microseconds (incidents.backups.serializer)
        natural_foreign=True,
        natural_primary=True,
        use_base_manager=True,  # every row, whatever a model's default manager hides
        exclude=EXCLUDED,
        stdout=dumped,
    )
    # Sorted keys, so that the bytes do not depend on the database: PostgreSQL's jsonb gives a
    # JSON field's keys back in its own order, SQLite in the order they were written.
    json.dump(json.loads(dumped.getvalue()), stream, indent=1, sort_keys=True, ensure_ascii=False)
    stream.write("\n")


def _holding_data() -> list[str]:
    return sorted(
        model._meta.label
        for model in apps.get_models()
        if model._meta.label not in MIGRATE_WRITES and model._base_manager.exists()
    )


@transaction.atomic
def backup_restore(*, path: str) -> str:
    """Load a backup into this (migrated, empty) database; all or nothing. Returns Django's
    summary ("Installed N object(s) ...")."""
    if not path.endswith(".json"):
        raise ValueError(f"{path}: a backup file's name ends in .json, as `backup` writes it.")
    if filled := _holding_data():
        raise DatabaseNotEmpty(
            "This database already holds data (" + ", ".join(filled) + "). Restore into a "
            "new database: create it, run `manage.py migrate`, then `manage.py restore`."
        )
    for label in REPLACED:
        apps.get_model(label)._base_manager.all().delete()
    summary = io.StringIO()
    call_command("loaddata", path, stdout=summary)
    return summary.getvalue().strip()
