from __future__ import annotations

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Floor 0: the transactional outbox (see the package docstring)."""

    name = "outbox"
    verbose_name = "Outbox"
