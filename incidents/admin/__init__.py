"""The admin of incidents, one module per room or topic; importing each registers its models."""

from incidents.admin import (  # noqa: F401
    action_items,
    attachments,
    communications,
    drafting,
    live,
    postmortem,
    references,
    reminders,
    rows,
    statuspage,
    webhooks,
)
