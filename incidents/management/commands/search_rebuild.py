"""python manage.py search_rebuild: build every incident's search document anew.

Run it once after upgrading to a version with search documents (incidents older than them are
not found until it has run), and after changing the text search configuration. Safe to run
again, and while people write: changes made meanwhile are refreshed as usual.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents.insights.services import REBUILD_BATCH, search_documents_rebuild


class Command(BaseCommand):
    help = "Build the search document of every incident anew."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=REBUILD_BATCH,
            help=f"Incidents per transaction (default {REBUILD_BATCH}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        built = search_documents_rebuild(batch_size=options["batch_size"])
        self.stdout.write(f"{built} search documents built")
