"""python manage.py rerender_markdown: render every stored Markdown field with today's renderer.

Run it after changing core.rendering (extensions or the sanitizer's allow-list) when no migration
does it for you; it prints how many rows changed in each table. Safe to run again: rows whose
HTML is already current are not written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from incidents.rerendering import stored_markdown_rerender
from incidents.statuspage.page.caching import status_page_invalidate


class Command(BaseCommand):
    help = "Render every stored Markdown field again with the current renderer and allow-list."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = stored_markdown_rerender()
        # The public page caches whole responses; an incident's own public page runs out of
        # the cache within its lifetime.
        transaction.on_commit(status_page_invalidate)
        for name, count in changed.items():
            self.stdout.write(f"{name}: {count} changed")
        self.stdout.write(f"{sum(changed.values())} rows changed in all")
