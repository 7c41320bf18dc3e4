from __future__ import annotations

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments and health"

    def ready(self) -> None:
        from deployments.services.probes import SMOKE_RUN_TASK
        from outbox.services import outbox_carry

        outbox_carry(SMOKE_RUN_TASK)
