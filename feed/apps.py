from __future__ import annotations

from django.apps import AppConfig


class FeedConfig(AppConfig):
    """Floor 0: the change feed (see the package docstring)."""

    name = "feed"
    verbose_name = "Change feed"
