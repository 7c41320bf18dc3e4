"""python manage.py import_postmortem FILE.md [--service SLUG] [--title T] [--user NAME] [--force]

Creates an incident from a Markdown post-mortem and prints its reference (e.g. INC-7) on
stdout; the import report (what was mapped where, what was kept as notes, warnings) goes to
stderr. The service is --service (a slug) or else the one the document names; either is created
when it does not exist yet, since whoever runs this command operates the server. A document
that looks imported already (the same text, or the same service and start) is refused with
the incident it was imported as, exit status 1, unless --force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.documents import services
from incidents.documents.importer import MAX_DOCUMENT_BYTES, DocumentError

_HINTS = {
    "no_title": ' Pass --title "..." to give it one.',
    "service": " Pass --service SLUG to file it under a service.",
    "duplicate": " Update that incident, or pass --force to import it as a new one anyway.",
}


class Command(BaseCommand):
    help = "Import a Markdown post-mortem as a new incident; prints its reference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The Markdown document; - reads standard input.")
        parser.add_argument("--service", help="Slug of the service the incident belongs to.")
        parser.add_argument("--title", help="Title, for a document without a '# ' heading.")
        parser.add_argument("--user", help="Username recorded as the incident's author.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Import even when the document looks imported already.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["file"])
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']}.")
        try:
            result = services.postmortem_import(
                data=data,
                user=user,
                title=options["title"],
                service_slug=options["service"],
                create_service=True,
                force=options["force"],
            )
        except DocumentError as error:
            raise CommandError(error.message + _HINTS.get(error.code, "")) from None
        self.stdout.write(result.incident.reference)
        self.stderr.write(result.report.as_text())

    def _read(self, name: str) -> bytes:
        import sys

        if name == "-":
            return sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"No file {name}.")
        with path.open("rb") as handle:
            # One byte past the limit is enough to know it is too large.
            return handle.read(MAX_DOCUMENT_BYTES + 1)
