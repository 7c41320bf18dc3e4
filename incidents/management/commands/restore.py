"""python manage.py restore FILE: load a `backup` file into an empty migrated database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.backups.services import DatabaseNotEmpty, backup_restore


class Command(BaseCommand):
    help = (
        "Load a file written by `backup` into this database, which must be migrated and empty "
        "(nothing but what migrate itself writes). All or nothing: one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A file written by `manage.py backup`.")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        try:
            summary = backup_restore(path=file)
        except (DatabaseNotEmpty, ValueError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(summary))
