"""What the status page says about each part of the product: components, their groups and status.

A component is what users know (e.g. "Web" and "API" in a group "MoodMash"), not a health check:
it watches any number of checks, and its status is said by people (an editor, or a published
status page update naming it) or, for a component that follows its checks, by the checks
(incidents.statuspage.components).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ComponentStatus(models.TextChoices):
    # Worst last: COMPONENT_STATUS_RANK reads this order.
    OPERATIONAL = "operational", "Operational"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"


COMPONENT_STATUS_RANK = {status: rank for rank, status in enumerate(ComponentStatus.values)}


class ComponentGroup(models.Model):
    """A heading on the status page that components sit under, e.g. a product."""

    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    name = models.CharField(max_length=100)
    group = models.ForeignKey(
        ComponentGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="components",
        help_text="Empty for a component shown on its own.",
    )
    order = models.PositiveIntegerField(default=0)
    health_checks = models.ManyToManyField(
        "deployments.HealthCheck",
        blank=True,
        related_name="components",
        help_text="The checks whose results propose this component's status.",
    )
    status = models.CharField(
        max_length=30, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    follows_checks = models.BooleanField(
        default=False,
        help_text="Take the status the checks propose without asking an editor.",
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Empty when the checks or a migration set it.
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ComponentStatus.values), name="component_status_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ComponentStatusChange(models.Model):
    """The component had `status` from `at` until its next change: written by every service
    that sets a component's status, so the uptime bars can show the worst status of each past
    day. Days before a component's first change have no status (nothing is made up for them)."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=30, choices=ComponentStatus.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["component_id", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ComponentStatus.values),
                name="component_status_change_known",
            ),
        ]
        indexes = [
            # The status page: each component's changes since the first day shown, and the
            # last one before it.
            models.Index(fields=["component", "at"], name="component_status_change_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.component_id}: {self.status} at {self.at:%Y-%m-%d %H:%M}"


class CommunicationComponent(models.Model):
    """A status page update names a component it affects and the status it sets for it; the
    status is set when the update is published."""

    communication = models.ForeignKey(
        "incidents.Communication", on_delete=models.CASCADE, related_name="component_statuses"
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=30, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["communication", "component"], name="communication_component_once"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ComponentStatus.values),
                name="communication_component_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component_id}: {self.status}"
