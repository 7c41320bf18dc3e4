"""What an incident's team tells people: templates and the communications made from them.

Delivery (subscribers, outgoing webhooks, the outbox) builds on these; a communication's text is
Markdown like every other text in a post-mortem, and its HTML is stored beside it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from simple_history.models import HistoricalRecords

from incidents.models.base import HISTORY_EXCLUDED, MarkdownModel


class Audience(models.TextChoices):
    USER_EMAIL = "user_email", "Email to users"
    STATUS_PAGE = "status_page", "Status page update"
    INTERNAL = "internal", "Internal summary"
    EXECUTIVE = "executive", "Executive summary"
    # The post-mortem told to customers, on the incident's public page once published.
    PUBLIC_POSTMORTEM = "public_postmortem", "Public post-mortem"


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
    # What the draft was built from, as it was then (start, end, duration, affected components,
    # as text): shown beside the text so whoever approves checks the facts, not only the words.
    facts = models.JSONField(default=dict, blank=True, editable=False)
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
    # A published status page update that said something wrong is withdrawn, never deleted:
    # the page and the feeds stop showing it (the feeds say it was withdrawn), and the record
    # keeps who withdrew it and why.
    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retraction_reason = models.TextField(blank=True)
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
            models.CheckConstraint(
                condition=Q(retracted_at__isnull=True) | Q(status="sent"),
                name="communication_only_sent_ones_are_retracted",
            ),
        ]
        indexes = [
            # The incident page's and the status page's communications of one incident.
            models.Index(fields=["incident", "created_at"], name="communication_incident_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    FACT_LABELS = {
        "started_at": "Started",
        "ended_at": "Ended",
        "duration": "Duration",
        "components": "Affected",
    }

    def stated_facts(self) -> list[tuple[str, str]]:
        """The facts the draft was built from, as the page shows them: times with their zone,
        both dates when the span crosses midnight."""
        shown = []
        start = parse_datetime(self.facts.get("started_at") or "")
        for name, label in self.FACT_LABELS.items():
            if name not in self.facts:
                continue
            value = self.facts[name]
            if name in ("started_at", "ended_at"):
                moment = parse_datetime(value or "")
                if moment is None:
                    text = "not yet" if name == "ended_at" else "—"
                else:
                    moment = timezone.localtime(moment)
                    same_day = (
                        start is not None and timezone.localtime(start).date() == moment.date()
                    )
                    text = (
                        f"{moment:%H:%M %Z}"
                        if name == "ended_at" and same_day
                        else (f"{moment:%Y-%m-%d %H:%M %Z}")
                    )
            elif name == "components":
                text = ", ".join(value) if value else "none found failing"
            else:
                text = value or "—"
            shown.append((label, text))
        return shown

    def facts_outdated(self) -> list[str]:
        """The facts the incident now states otherwise than this draft does (start, end)."""
        if not self.facts:
            return []
        now = {"started_at": self.incident.started_at, "ended_at": self.incident.resolved_at}
        return [
            self.FACT_LABELS[name].lower()
            for name, value in now.items()
            if parse_datetime(self.facts.get(name) or "") != value
        ]
