"""{% postmortem_toc %}: the incident page's table of contents (incidents.postmortem.toc)."""

from __future__ import annotations

from typing import Any

from django import template

from incidents.postmortem.toc import toc_entries

register = template.Library()


@register.inclusion_tag("incidents/partials/_toc.html", takes_context=True)
def postmortem_toc(context: template.Context) -> dict[str, Any]:
    values = {str(name): value for name, value in context.flatten().items()}
    return {"entries": toc_entries(values)}
