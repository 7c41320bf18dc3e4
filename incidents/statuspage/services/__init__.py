"""Writes of the status page's side. Every function is keyword-only; the writes run in a
transaction.

One module per topic; everything is importable from `incidents.statuspage.services` as well.

- subscribers: sign up, confirm (double opt-in), choose components, unsubscribe.
- maintenance: maintenance windows, shown on the page as soon as they are saved.
- visibility: which incidents the page shows (publish, unpublish, and what updates do to it).
- component_status: what the checks propose for a component, and setting its status.
- components: creating, editing and deleting components and their groups.
"""

from __future__ import annotations

from incidents.statuspage.services.component_status import (
    ComponentStatusConflict,
    communication_components_set,
    component_proposal_accept,
    component_set_status,
    component_status_history_record,
    component_status_proposals,
    component_status_propose,
    components_follow_checks,
    components_follow_health,
    components_set_by_update,
)
from incidents.statuspage.services.components import (
    COMPONENT_FIELDS,
    COMPONENT_GROUP_FIELDS,
    component_delete,
    component_group_delete,
    component_group_save,
    component_save,
)
from incidents.statuspage.services.maintenance import (
    MAINTENANCE_FIELDS,
    maintenance_check,
    maintenance_create,
    maintenance_delete,
    maintenance_update,
)
from incidents.statuspage.services.subscribers import (
    CONFIRM_RESEND_SECONDS,
    CONFIRM_TASK,
    CONFIRM_TEMPLATE,
    EMAIL_MAX_LENGTH,
    subscriber_choice_set,
    subscriber_chosen,
    subscriber_confirm,
    subscriber_confirmation_send,
    subscriber_signup,
    subscriber_unsubscribe,
    subscribers_unsubscribe,
)
from incidents.statuspage.services.visibility import (
    incident_publish,
    incident_publish_with_update,
    incident_unpublish,
    incident_unpublish_after_withdrawal,
)

__all__ = [
    "COMPONENT_FIELDS",
    "COMPONENT_GROUP_FIELDS",
    "CONFIRM_RESEND_SECONDS",
    "CONFIRM_TASK",
    "CONFIRM_TEMPLATE",
    "EMAIL_MAX_LENGTH",
    "MAINTENANCE_FIELDS",
    "ComponentStatusConflict",
    "communication_components_set",
    "component_delete",
    "component_group_delete",
    "component_group_save",
    "component_proposal_accept",
    "component_save",
    "component_set_status",
    "component_status_history_record",
    "component_status_proposals",
    "component_status_propose",
    "components_follow_checks",
    "components_follow_health",
    "components_set_by_update",
    "incident_publish",
    "incident_publish_with_update",
    "incident_unpublish",
    "incident_unpublish_after_withdrawal",
    "maintenance_check",
    "maintenance_create",
    "maintenance_delete",
    "maintenance_update",
    "subscriber_choice_set",
    "subscriber_chosen",
    "subscriber_confirm",
    "subscriber_confirmation_send",
    "subscriber_signup",
    "subscriber_unsubscribe",
    "subscribers_unsubscribe",
]
