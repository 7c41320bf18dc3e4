from __future__ import annotations

from typing import Self

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

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
# A row's version is bookkeeping for compare-and-set: the history's own order already says which
# write came first, and leaving it out keeps a seed-sized import's history in one statement.
ROW_HISTORY_EXCLUDED = [*HISTORY_EXCLUDED, "version"]


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
            try:
                setattr(self, f"{name}_html", render(getattr(self, name)))
            except ValidationError as error:  # the field's Markdown cannot be shown
                raise ValidationError({name: error.messages}) from None
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


class Versioned(models.Model):
    """A row two people may edit at once: every write bumps `version`, and the services write
    by compare-and-set against the version the writer read, so nobody overwrites a change they
    never saw. Each model names its own `<model>_version_positive` constraint."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


def version_positive(model_name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(version__gte=1), name=f"{model_name}_version_positive"
    )
