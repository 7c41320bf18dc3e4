from __future__ import annotations

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents and post-mortems"

    def ready(self) -> None:
        from incidents.gate_rules import register_gate_rules

        register_gate_rules()

        from deployments import hooks
        from incidents.health_events import health_failing_draft

        hooks.subscribe("health_failing", health_failing_draft)

        from deployments.links import register_deployment_links
        from incidents.deployment_events import rollback_recorded
        from incidents.links import incident_links

        hooks.subscribe("rollback_recorded", rollback_recorded)
        register_deployment_links(incident_links)

        from incidents.services.delivery import DELIVER_TASK
        from outbox.services import outbox_carry

        outbox_carry(DELIVER_TASK)
