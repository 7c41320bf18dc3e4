"""Template filters every app's templates use: `{% load hindsight %}`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from core.durations import duration_words

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A span in words for a page: "16 minutes", "1 hour and 35 minutes", "3 days"."""
    return "ongoing" if value is None else duration_words(value)


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@register.filter(needs_autoescape=False)
def codespans(value: str) -> str:
    """Show `backticks` in one-line titles as code, as people write them in chat and commits.

    Titles are plain text, not Markdown: the text is escaped first, and only <code> is added.
    """
    return mark_safe(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(value))))


@register.filter
def field_html(incident: object, name: str) -> str:
    """The stored HTML of one of the incident's Markdown fields (already sanitized)."""
    return getattr(incident, f"{name}_html", "")


@register.filter
def field_label(instance: models.Model, name: str) -> str:
    field = instance._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is a relation, not a field"
    return str(field.verbose_name).capitalize()


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    return mapping.get(key, "") if mapping else ""


@register.filter
def clock(value: datetime | None, day_of: datetime | None = None) -> str:
    """A time on a timeline: "06:14" on the day of `day_of` (the incident's start), with its
    date on any other day, so a line written days later never reads as the same morning."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if day_of is not None and local.date() == timezone.localtime(day_of).date():
        return f"{local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


@register.simple_tag
def attachment_max_bytes() -> int:
    """The attachment size limit, for the page to refuse a file before sending it."""
    return int(settings.HINDSIGHT_ATTACHMENT_MAX_MB) * 1024 * 1024
