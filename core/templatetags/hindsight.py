"""Template filters every app's templates use: `{% load hindsight %}`."""

from __future__ import annotations

import re
from datetime import timedelta

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A span in words a reader takes in at a glance: "16 minutes", "2 h 5 min", "3 days"."""
    if value is None:
        return "ongoing"
    minutes = round(value.total_seconds() / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{round(hours / 24)} days"


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@register.filter(needs_autoescape=False)
def codespans(value: str) -> str:
    """Show `backticks` in one-line titles as code, as people write them in chat and commits.

    Titles are plain text, not Markdown: the text is escaped first, and only <code> is added.
    """
    return mark_safe(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(value))))


@register.filter
def field_html(incident, name: str) -> str:
    """The stored HTML of one of the incident's Markdown fields (already sanitized)."""
    return getattr(incident, f"{name}_html", "")


@register.filter
def field_label(instance, name: str) -> str:
    return str(instance._meta.get_field(name).verbose_name).capitalize()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""
