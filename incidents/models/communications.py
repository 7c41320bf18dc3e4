"""What an incident's team tells people: templates and the communications made from them.

Delivery (subscribers, outgoing webhooks, the outbox) builds on these; a communication's text is
Markdown like every other text in a post-mortem, and its HTML is stored beside it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from incidents.models.base import HISTORY_EXCLUDED, MarkdownModel


class Audience(models.TextChoices):
    USER_EMAIL = "user_email", "Email to users"
    STATUS_PAGE = "status_page", "Status page update"
    INTERNAL = "internal", "Internal summary"
    EXECUTIVE = "executive", "Executive summary"


class Phase(models.TextChoices):
    """Where a status page update stands; blank for other audiences."""

    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class CommunicationTemplate(models.Model):
    """A reusable draft: subject and Markdown body with template placeholders."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    audience = models.CharField(max_length=20, choices=Audience.choices)
    phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    subject_template = models.CharField(max_length=300)
    body_template = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["audience", "name"]

    def __str__(self) -> str:
        return self.name


class Communication(MarkdownModel):
    """One message about an incident, from draft to sent. A sent one is never edited again; a
    correction is a new communication that names the one it corrects."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent or published"

    markdown_fields = ("body",)

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="communications"
    )
    template = models.ForeignKey(
        CommunicationTemplate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="communications",
    )
    audience = models.CharField(max_length=20, choices=Audience.choices)
    phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="corrections",
        help_text="The sent communication this one corrects.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Empty for a sent message imported from a document that did not say when.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=[*HISTORY_EXCLUDED, "body_html"])

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False) | Q(status="sent"),
                name="communication_approved_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(corrects=F("id")), name="communication_not_own_correction"
            ),
        ]
        indexes = [
            # The incident page's and the status page's communications of one incident.
            models.Index(fields=["incident", "created_at"], name="communication_incident_idx"),
        ]

    def __str__(self) -> str:
        return self.subject
