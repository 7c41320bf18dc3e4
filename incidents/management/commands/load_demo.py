"""python manage.py load_demo: the demo roles, users, MoodMash history and its post-mortem."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.roles import roles_ensure
from incidents.demo import DEMO_PASSWORD, DEMO_USERS, demo_load


class Command(BaseCommand):
    help = "Load the demo data (idempotent: running it again adds nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--history",
            action="store_true",
            help="Also load three years of history of three more services, for the metrics page.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        roles_ensure()
        summary = demo_load(history=options["history"])
        verb = "Loaded" if summary.incident_created else "Already loaded"
        self.stdout.write(self.style.SUCCESS(f"{verb}: demo incident {summary.reference}"))
        counts = ", ".join(f"{n} {name}" for name, n in summary.counts.items())
        self.stdout.write(f"  {counts}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in DEMO_USERS.items():
            self.stdout.write(f"  {username:<12} {role.label}")
