from __future__ import annotations

from django.db import models

from incidents.rendering import render


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
    """Rows a person arranges by hand: lessons, causes, action items, criteria."""

    order = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
