"""Communications from draft to sent: generate from a template, edit, approve, send, correct,
withdraw. Every function is keyword-only; the writes run in a transaction.

One module per topic; everything is importable from `incidents.communications.services` as well.

- templates: the save-time check of a template, and saving one.
- drafts: generating, editing and discarding drafts, and the correction of a sent one.
- sending: approving, sending (or publishing), and withdrawing a published update.
- webhooks: webhook endpoints and their signing secrets.
- errors: the refusals the pages and the API show.
"""

from __future__ import annotations

from incidents.communications.services._common import Status
from incidents.communications.services.drafts import (
    CHECKED_FACTS,
    CORRECTION_PREFIX,
    EDITABLE,
    communication_correct,
    communication_discard,
    communication_generate,
    communication_update,
)
from incidents.communications.services.errors import CommunicationStateError, StaleCommunication
from incidents.communications.services.sending import (
    ON_THE_STATUS_PAGE,
    communication_approve,
    communication_retract,
    communication_send,
)
from incidents.communications.services.templates import (
    communication_template_check,
    communication_template_save,
)
from incidents.communications.services.webhooks import (
    webhook_endpoint_save,
    webhook_endpoint_secret_rotate,
    webhook_secret_new,
)

__all__ = [
    "CHECKED_FACTS",
    "CORRECTION_PREFIX",
    "EDITABLE",
    "ON_THE_STATUS_PAGE",
    "CommunicationStateError",
    "StaleCommunication",
    "Status",
    "communication_approve",
    "communication_correct",
    "communication_discard",
    "communication_generate",
    "communication_retract",
    "communication_send",
    "communication_template_check",
    "communication_template_save",
    "communication_update",
    "webhook_endpoint_save",
    "webhook_endpoint_secret_rotate",
    "webhook_secret_new",
]
