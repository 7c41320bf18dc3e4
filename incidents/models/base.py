from __future__ import annotations

from typing import Self

from django.db import models

from core.rendering import render

# Not kept in history: the HTML is derived from the Markdown beside it, and the row's own
# timestamps are the history's.
HISTORY_EXCLUDED = [
    "summary_html",
    "impact_html",
    "resolution_html",
    "next_step_html",
    "text_html",
    "detail_html",
    "updated_at",
    "created_at",
]


class MarkdownModel(models.Model):
    """A model with Markdown fields whose sanitized HTML is stored beside them.

    Each name in `markdown_fields` has a sibling `<name>_html` column. Services (and the admin)
    call render_markdown() before saving; nothing renders Markdown at read time.
    """

    markdown_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def render_markdown(self) -> list[str]:
        """Fill every `<name>_html` from its source; return the html field names for save()."""
        names = []
        for name in self.markdown_fields:
            setattr(self, f"{name}_html", render(getattr(self, name)))
            names.append(f"{name}_html")
        return names


class Ordered(models.Model):
    """Rows a person arranges by hand: lessons, causes, action items, criteria.

    `sibling_fields` names what a row shares with the rows it is ordered among, e.g. the same
    incident, parent and kind for a cause.
    """

    sibling_fields: tuple[str, ...] = ("incident",)

    order = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def siblings(self) -> models.QuerySet[Self]:
        """This row and the rows it is ordered among, in their order."""
        attnames = {f.name: f.attname for f in self._meta.fields}
        return (
            type(self)
            ._default_manager.filter(
                **{attnames[name]: getattr(self, attnames[name]) for name in self.sibling_fields}
            )
            .order_by("order", "id")
        )
