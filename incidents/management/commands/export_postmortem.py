"""python manage.py export_postmortem REF [--format md|json]: an incident's post-mortem on stdout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.documents.exports import FORMATS, export_incident
from incidents.models import Incident


class Command(BaseCommand):
    help = "Print an incident's post-mortem as Markdown (default) or JSON (schema hindsight.postmortem/v1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="INC-7, inc-7 or 7")
        parser.add_argument("--format", choices=FORMATS, default="md")

    def handle(self, *args: Any, reference: str, format: str, **options: Any) -> None:
        try:
            exported = export_incident(reference, format)
        except Incident.DoesNotExist:
            raise CommandError(f"No incident {reference}.") from None
        self.stdout.write(exported.text(), ending="")
