from __future__ import annotations

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents and post-mortems"

    def ready(self) -> None:
        """Fill the plug-in points of the floors below (core/plugins.py lists them all), and
        register the rooms' Celery tasks, which live beside their services rather than in one
        incidents/tasks.py where Celery would look by itself."""
        from core import plugins
        from deployments.models import GateRule
        from incidents.attachments import tasks as attachment_tasks  # noqa: F401
        from incidents.communications import delivery as communications_delivery
        from incidents.communications.tasks import communication_deliver, delivery_send
        from incidents.insights.reminders import services as reminders_services
        from incidents.insights.reminders.tasks import reminder_send
        from incidents.insights.tasks import search_document_refresh
        from incidents.postmortem import tasks as postmortem_tasks  # noqa: F401
        from incidents.statuspage.services import components_follow_health
        from incidents.statuspage.tasks import maintenance_notice_send, subscriber_confirmation_send
        from incidents.system.gate import blocking_action_items
        from incidents.system.links import incident_links
        from incidents.system.services import incident_draft_from_health, timeline_rollback_add
        from incidents.webhooks import sending as webhooks_sending
        from incidents.webhooks.services import webhook_deliveries_queue
        from incidents.webhooks.tasks import webhook_deliver

        plugins.gate_rule_register(GateRule.Kind.BLOCKING_ACTION_ITEMS, blocking_action_items)
        plugins.subscribe("rollback_recorded", timeline_rollback_add)
        plugins.subscribe("health_failing", incident_draft_from_health)
        plugins.subscribe("health_changed", components_follow_health)
        plugins.deployment_links_register(incident_links)
        plugins.outbox_carry(communication_deliver.name)
        plugins.outbox_carry(subscriber_confirmation_send.name)
        plugins.outbox_carry(maintenance_notice_send.name)
        plugins.feed_listen(webhook_deliveries_queue)
        plugins.outbox_carry(webhook_deliver.name)
        plugins.outbox_carry(search_document_refresh.name)
        # The delivery engine's sweep hands these back through the outbox (core/delivery.py).
        plugins.outbox_carry(delivery_send.name)
        plugins.delivery_kind_register(communications_delivery.KIND)
        plugins.delivery_kind_register(webhooks_sending.KIND)
        plugins.outbox_carry(reminder_send.name)
        plugins.delivery_kind_register(reminders_services.KIND)
