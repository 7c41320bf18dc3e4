"""The human side of an incident, one module per part of the post-mortem."""

from __future__ import annotations

from incidents.models.actions import ActionItem, Horizon, SuccessCriterion
from incidents.models.analysis import Cause, Lesson
from incidents.models.attachments import Attachment
from incidents.models.communications import (
    Audience,
    Communication,
    CommunicationTemplate,
    Phase,
)
from incidents.models.components import (
    COMPONENT_STATUS_RANK,
    CommunicationComponent,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
)
from incidents.models.delivery import (
    Delivery,
    Maintenance,
    MaintenanceNotice,
    Subscriber,
)
from incidents.models.document import FinalNote, PathPriority, SolutionOption, StatusItem
from incidents.models.drafting import DiscardedProposal
from incidents.models.incident import Incident, ReferenceCounter, Severity
from incidents.models.live import LiveMark
from incidents.models.public_document import PublicDocument
from incidents.models.references import ExternalReference, IncidentLabel
from incidents.models.reminders import Reminder, ReminderRun
from incidents.models.search import SearchDocument
from incidents.models.timeline import TimelineEvent
from incidents.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "COMPONENT_STATUS_RANK",
    "ActionItem",
    "Attachment",
    "Audience",
    "Cause",
    "Communication",
    "CommunicationComponent",
    "CommunicationTemplate",
    "Component",
    "ComponentGroup",
    "ComponentStatus",
    "ComponentStatusChange",
    "Delivery",
    "DiscardedProposal",
    "ExternalReference",
    "FinalNote",
    "Horizon",
    "Incident",
    "IncidentLabel",
    "Lesson",
    "LiveMark",
    "Maintenance",
    "MaintenanceNotice",
    "PathPriority",
    "Phase",
    "PublicDocument",
    "ReferenceCounter",
    "Reminder",
    "ReminderRun",
    "SearchDocument",
    "Severity",
    "SolutionOption",
    "StatusItem",
    "Subscriber",
    "SuccessCriterion",
    "TimelineEvent",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
