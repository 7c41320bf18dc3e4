"""Every kind of event the feed and the webhooks carry, as `<subject>.<what happened>`.

The names are a contract with sync jobs and webhook receivers: add new ones, never rename.
"""

from __future__ import annotations

from django.db import models


class EventKind(models.TextChoices):
    INCIDENT_DECLARED = "incident.declared", "Incident declared"
    INCIDENT_UPDATED = "incident.updated", "Incident updated"
    INCIDENT_STATUS_CHANGED = "incident.status_changed", "Incident status changed"
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    INCIDENT_POSTMORTEM_STATE_CHANGED = (
        "incident.postmortem_state_changed",
        "Post-mortem state changed",
    )
    INCIDENT_DELETED = "incident.deleted", "Incident deleted"
    ACTION_ITEM_CREATED = "action_item.created", "Action item created"
    ACTION_ITEM_CHANGED = "action_item.changed", "Action item changed"
    ACTION_ITEM_COMPLETED = "action_item.completed", "Action item completed"
    ACTION_ITEM_DELETED = "action_item.deleted", "Action item deleted"
    DEPLOYMENT_RECORDED = "deployment.recorded", "Deployment recorded"
    DEPLOYMENT_FINISHED = "deployment.finished", "Deployment finished"
    GATE_BLOCKED = "gate.blocked", "Gate blocked"
    GATE_PASSED = "gate.passed", "Gate passed"
    CHANGE_RECORDED = "change.recorded", "Change recorded"
    MESSAGE_SENT = "message.sent", "Message sent"

    @property
    def subject(self) -> str:
        """What the event is about: the part before the dot ("incident", "action_item", ...)."""
        return self.value.split(".", 1)[0]
