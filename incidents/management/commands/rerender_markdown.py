"""python manage.py rerender_markdown: render every stored Markdown field with today's renderer.

Run it after changing core.rendering (extensions or the sanitizer's allow-list) when no migration
does it for you; it prints how many rows changed in each table. Safe to run again: rows whose
HTML is already current are not written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from incidents.documents.rerendering import stored_markdown_rerender
from incidents.statuspage.page import public_documents_mark_stale


class Command(BaseCommand):
    help = "Render every stored Markdown field again with the current renderer and allow-list."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            changed = stored_markdown_rerender()
            # The public pages keep whole documents built from the stored HTML: all of them,
            # each incident's own page too, are built again at their next reader.
            public_documents_mark_stale(every_incident=True)
        for name, count in changed.items():
            self.stdout.write(f"{name}: {count} changed")
        self.stdout.write(f"{sum(changed.values())} rows changed in all")
