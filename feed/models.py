"""The feed's table: one row per change, in the order changes committed."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from feed.kinds import EventKind


class FeedEvent(models.Model):
    """One change to something tooling follows.

    `id` is the order rows were inserted, which is not the order transactions commit: a reader
    following ids could pass an id whose transaction commits later and miss it for good.
    `position` is the order readers follow: it is given only to committed rows, in one
    sequence (see feed.services), so a position once seen is never followed by a smaller one.
    """

    id = models.BigAutoField(primary_key=True)
    position = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    kind = models.CharField(max_length=50, choices=EventKind.choices)
    # What the API names the subject by: an incident's reference (INC-7), otherwise the row's id.
    subject_id = models.CharField(max_length=64)
    # The incident's reference when the subject belongs to one (an action item, a message).
    incident = models.CharField(max_length=20, blank=True)
    # The subject as the API shows it at that moment; for a deletion, its identifiers only.
    data = models.JSONField(default=dict, blank=True)
    # For incident.updated: which parts changed (fields of the incident, sections by name).
    changes = models.JSONField(default=list, blank=True)
    # The username of who did it, or the token's name; empty for the system (beat, prober).
    actor = models.CharField(max_length=150, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position"]
        indexes = [
            # The sequencer's scan: committed rows not yet given a position, oldest first.
            models.Index(fields=["id"], name="feed_unsequenced_idx", condition=Q(position=None)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id}"

    @property
    def subject(self) -> str:
        return EventKind(self.kind).subject


class FeedClock(models.Model):
    """The one row the sequencer locks: the last position it gave, and the last one retention
    purged (a cursor before it may have missed events, so it is answered 410)."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    position = models.BigIntegerField(default=0)
    purged_through = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="feed_clock_singleton"),
        ]

    def __str__(self) -> str:
        return f"feed clock at {self.position}"
