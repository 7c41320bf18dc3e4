"""Writes on the post-mortem: keyword-only functions, one transaction each.

The incident row is edited with compare-and-set on its version (incident_update); status and
post-mortem state move by guarded transitions that write their own timeline line. Rows of the
sections are written one by one, each by compare-and-set on its own version (part_save), never
through the incident's, so two people working on different rows (or one on a row and one on the
prose) never collide, and two on the same row conflict only on the fields both changed. Each
write is recorded in the history by simple-history, with the acting user.

One module per topic; everything is importable from `incidents.postmortem.services` as well.
"""

from incidents.postmortem.services.action_items import (
    ASSIGNABLE_FIELDS,
    REASON_MAX_LENGTH,
    REASON_REQUIRED,
    OpenSteps,
    action_item_assign,
    action_item_complete,
    action_item_drop,
    action_item_reopen,
    action_item_start,
)
from incidents.postmortem.services.conflicts import (
    TRANSITION_ATTEMPTS,
    StaleRow,
    StaleVersion,
    comparable,
    comparable_values,
)
from incidents.postmortem.services.feed import (
    action_item_feed_data,
    feed_incident,
    feed_incident_parts,
    incident_feed_data,
)
from incidents.postmortem.services.history import history_record
from incidents.postmortem.services.incident import (
    EDITABLE_INCIDENT_FIELDS,
    INCIDENT_COUNTER,
    INCIDENT_CREATE_FIELDS,
    RESOLVE_TO_SET_END,
    incident_create,
    incident_delete,
    incident_number_next,
    incident_numbers_next,
    incident_rerender_markdown,
    incident_update,
)
from incidents.postmortem.services.references import (
    Reference,
    ReferenceTaken,
    incident_labels_set,
    incident_references_set,
)
from incidents.postmortem.services.rows import (
    criterion_set_done,
    part_delete,
    part_move,
    part_save,
)
from incidents.postmortem.services.status import (
    NOT_ITS_OWN_DUPLICATE,
    incident_mark_duplicate,
    incident_set_postmortem_state,
    incident_set_status,
    incident_unmark_duplicate,
)
from incidents.postmortem.services.timeline import (
    AuditLineLocked,
    timeline_event_add,
    timeline_event_set_hidden,
)

__all__ = [
    "ASSIGNABLE_FIELDS",
    "EDITABLE_INCIDENT_FIELDS",
    "INCIDENT_COUNTER",
    "INCIDENT_CREATE_FIELDS",
    "NOT_ITS_OWN_DUPLICATE",
    "REASON_MAX_LENGTH",
    "REASON_REQUIRED",
    "RESOLVE_TO_SET_END",
    "TRANSITION_ATTEMPTS",
    "AuditLineLocked",
    "OpenSteps",
    "Reference",
    "ReferenceTaken",
    "StaleRow",
    "StaleVersion",
    "action_item_assign",
    "action_item_complete",
    "action_item_drop",
    "action_item_feed_data",
    "action_item_reopen",
    "action_item_start",
    "comparable",
    "comparable_values",
    "criterion_set_done",
    "feed_incident",
    "feed_incident_parts",
    "history_record",
    "incident_create",
    "incident_delete",
    "incident_feed_data",
    "incident_labels_set",
    "incident_mark_duplicate",
    "incident_number_next",
    "incident_numbers_next",
    "incident_references_set",
    "incident_rerender_markdown",
    "incident_set_postmortem_state",
    "incident_set_status",
    "incident_unmark_duplicate",
    "incident_update",
    "part_delete",
    "part_move",
    "part_save",
    "timeline_event_add",
    "timeline_event_set_hidden",
]
