"""Render every stored Markdown field again, after the renderer or its allow-list changed.

Pages show the HTML stored at save time (core.rendering), so a new rule reaches old rows only
through here: `manage.py rerender_markdown`, and a data migration for each renderer change that
old rows need. Both go through stored_markdown_rerender(); the migration hands it the historical
models, which is why the fields are listed here by name rather than read from the model classes
(historical models keep fields, not class attributes). A test checks the list against the models.
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.apps.registry import Apps
from django.core.exceptions import ValidationError
from django.db import models, transaction

from core.rendering import render

# Model name in the incidents app -> its Markdown fields, each with a sibling `<name>_html`.
STORED_MARKDOWN: dict[str, tuple[str, ...]] = {
    "Incident": ("summary", "impact", "resolution", "next_step"),
    "TimelineEvent": ("text",),
    "Cause": ("detail",),
    "Lesson": ("text",),
    "ActionItem": ("detail",),
    "SuccessCriterion": ("text",),
    "StatusItem": ("detail",),
    "PathPriority": ("detail",),
    "SolutionOption": ("detail",),
    "FinalNote": ("text",),
    "Communication": ("body",),
    "Maintenance": ("description",),
}
BATCH_SIZE = 500


def _rendered(row: models.Model, name: str) -> str:
    try:
        return render(getattr(row, name))
    except ValidationError:
        # Stored before the renderer's budgets refused such text: its HTML was sanitized when
        # it was saved, and a migration must not fail on it. It stays until someone edits it.
        return str(getattr(row, f"{name}_html"))


def _rerender_model(model: type[models.Model], fields: tuple[str, ...], batch_size: int) -> int:
    html_fields = [f"{name}_html" for name in fields]
    rows = model._default_manager.order_by("pk").only("pk", *fields, *html_fields)
    changed: list[models.Model] = []
    count = 0
    for row in rows.iterator(chunk_size=batch_size):
        fresh = {f"{name}_html": _rendered(row, name) for name in fields}
        # Only rows whose HTML differs are written: a re-run, or a rule that changes nothing
        # for most text, costs reads and no writes.
        if all(getattr(row, html) == value for html, value in fresh.items()):
            continue
        for html, value in fresh.items():
            setattr(row, html, value)
        changed.append(row)
        if len(changed) >= batch_size:
            model._default_manager.bulk_update(changed, html_fields)
            count += len(changed)
            changed = []
    if changed:
        model._default_manager.bulk_update(changed, html_fields)
        count += len(changed)
    return count


def stored_markdown_rerender(
    *, apps: Apps | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Render every stored Markdown field again; return how many rows changed, per model.

    Writes only the *_html columns: no version bump and no history entry, since the text
    people wrote is unchanged. `apps` is a migration's historical registry, or the live one.
    """
    registry = apps or django_apps
    changed = {}
    with transaction.atomic():
        for name, fields in STORED_MARKDOWN.items():
            changed[name] = _rerender_model(
                registry.get_model("incidents", name), fields, batch_size
            )
    return changed
