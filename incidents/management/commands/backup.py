"""python manage.py backup [--output FILE]: every row Hindsight keeps, as one JSON file.

For moving an installation between databases (SQLite to PostgreSQL, one server to another):
`restore` loads the file into an empty migrated database. pg_dump stays the primary backup.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents.backups.services import backup_write


class Command(BaseCommand):
    help = (
        "Write every row (not the attachments' files) as one JSON file, the same bytes for the "
        "same data, for `restore` into an empty database. Standard output unless --output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, output: str | None, **options: Any) -> None:
        if output:
            with open(output, "w", encoding="utf-8") as file:
                backup_write(file)
        else:
            backup_write(self.stdout)
