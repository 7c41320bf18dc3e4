from __future__ import annotations

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments and health"

    def ready(self) -> None:
        """Register the Celery tasks in every process (the outbox publishes them by name, also
        from web processes where Celery never looks for tasks itself), and let the outbox carry
        the post-deploy smoke run (core/plugins.py lists every plug-in point)."""
        from core import plugins
        from deployments.tasks import deployment_smoke_run

        plugins.outbox_carry(deployment_smoke_run.name)
