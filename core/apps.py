from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_after_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Every migrate (a fresh install, an upgrade, the test database) leaves the three role groups
    # as core.roles defines them: a permission a release takes from a role is taken on upgrade,
    # not only when someone happens to load the demo.
    from core.roles import roles_ensure

    roles_ensure(using=using)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Hindsight core"

    def ready(self) -> None:
        post_migrate.connect(_roles_after_migrate, sender=self, dispatch_uid="core.roles")
