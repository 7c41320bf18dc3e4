"""What the author of a draft from the facts turned down."""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import Q

from incidents.models.analysis import Cause
from incidents.models.timeline import TimelineEvent


class DiscardedProposal(models.Model):
    """A proposal of "Start the post-mortem" its author discarded. The proposed row is deleted
    and, without this record, asking for a draft again would propose the same fact again; the
    draft leaves out a fact that matches one of these, keyed as it tells "a fact already told":
    a line by its deployment, or by its kind and minute (and a message by its subject); a
    trigger by its deployment; a text by its field and exact words, so that a text the facts
    have since changed is a new proposal. A person may still write such a line by hand."""

    class Part(models.TextChoices):
        TIMELINE = "timeline", "Timeline line"
        CAUSE = "causes", "Cause"
        TEXT = "text", "Text"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="discarded_proposals"
    )
    part = models.CharField(max_length=20, choices=Part.choices)
    # A line's kind (TimelineEvent.Kind), or the field of a text (summary, impact, resolution).
    kind = models.CharField(max_length=20, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    deployment = models.ForeignKey(
        "deployments.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the proposal said: a message's subject is found in it, and a text is compared whole.
    text = models.TextField(blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    discarded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["discarded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(part__in=["timeline", "causes", "text"]),
                name="discarded_proposal_part_valid",
            ),
        ]
        # The draft reads an incident's discards through the incident foreign key's own index.

    def __str__(self) -> str:
        return f"{self.get_part_display()} discarded from incident {self.incident_id}"

    @classmethod
    def of_row(
        cls, row: models.Model, user: AbstractBaseUser | AnonymousUser | None
    ) -> Self | None:
        """The unsaved record of a row about to be deleted, if it is still a proposal: None for
        a kept row, or one no draft proposes."""
        by = user if user is not None and user.is_authenticated else None
        if isinstance(row, TimelineEvent) and row.proposed:
            return cls(
                incident_id=row.incident_id,
                part=cls.Part.TIMELINE,
                kind=row.kind,
                occurred_at=row.occurred_at,
                deployment_id=row.deployment_id,
                text=row.text,
                discarded_by=by,
            )
        if isinstance(row, Cause) and row.proposed:
            return cls(
                incident_id=row.incident_id,
                part=cls.Part.CAUSE,
                kind=row.kind,
                deployment_id=row.deployment_id,
                text=row.title,
                discarded_by=by,
            )
        return None
