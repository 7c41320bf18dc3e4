from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Floor 0: the REST plumbing both apps' API faces stand on. Knows no domain."""

    name = "api"
    verbose_name = "API access"

    def ready(self) -> None:
        # Registers the bearer-token security scheme with drf-spectacular.
        from api import schema  # noqa: F401
