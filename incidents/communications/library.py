"""The only tags and filters a communication template can use.

The sandbox engine (incidents.communications.sandbox) drops Django's default builtins and loads
this library alone, so anything else ({% include %}, {% load %}, {% debug %}, {% url %}, filters
such as `pprint` or `floatformat` with a huge precision) is a syntax error when the template is
saved. What is left shapes text: conditions, loops over the lists of facts, and formatting.
"""

from __future__ import annotations

from django.template import Library, defaultfilters, defaulttags

register = Library()

ALLOWED_TAGS = ("if", "for", "with", "comment")
ALLOWED_FILTERS = (
    "capfirst",
    "date",
    "default",
    "default_if_none",
    "first",
    "join",
    "last",
    "length",
    "lower",
    "pluralize",
    "time",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "yesno",
)

for _name in ALLOWED_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name in ALLOWED_FILTERS:
    register.filters[_name] = defaultfilters.register.filters[_name]
