"""Writes and workflows on the human side: keyword-only functions, one transaction each.

Import from here (`from incidents import services`); the modules are split by topic only.
"""

from __future__ import annotations

from incidents.services.action_items import (
    action_item_assign,
    action_item_complete,
    action_item_reopen,
)
from incidents.services.communications import (
    CommunicationStateError,
    StaleCommunication,
    communication_approve,
    communication_correct,
    communication_discard,
    communication_generate,
    communication_send,
    communication_template_check,
    communication_template_save,
    communication_update,
)
from incidents.services.documents import ImportResult, postmortem_import
from incidents.services.history import history_record
from incidents.services.incident import (
    EDITABLE_INCIDENT_FIELDS,
    StaleVersion,
    incident_create,
    incident_number_next,
    incident_rerender_markdown,
    incident_set_postmortem_state,
    incident_set_status,
    incident_update,
)
from incidents.services.maintenance import (
    maintenance_create,
    maintenance_delete,
    maintenance_update,
)
from incidents.services.parts import criterion_set_done, part_delete, part_move, part_save
from incidents.services.subscriptions import (
    subscriber_confirm,
    subscriber_signup,
    subscriber_unsubscribe,
)
from incidents.services.timeline import timeline_event_add

__all__ = [
    "EDITABLE_INCIDENT_FIELDS",
    "CommunicationStateError",
    "ImportResult",
    "StaleCommunication",
    "StaleVersion",
    "action_item_assign",
    "action_item_complete",
    "action_item_reopen",
    "communication_approve",
    "communication_correct",
    "communication_discard",
    "communication_generate",
    "communication_send",
    "communication_template_check",
    "communication_template_save",
    "communication_update",
    "criterion_set_done",
    "history_record",
    "incident_create",
    "incident_number_next",
    "incident_rerender_markdown",
    "incident_set_postmortem_state",
    "incident_set_status",
    "incident_update",
    "maintenance_create",
    "maintenance_delete",
    "maintenance_update",
    "part_delete",
    "part_move",
    "part_save",
    "postmortem_import",
    "subscriber_confirm",
    "subscriber_signup",
    "subscriber_unsubscribe",
    "timeline_event_add",
]
