"""The deployment gate: the rules CI asks about before it ships, and a record of every answer."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from deployments.models.catalogue import Environment, Service, commit_validator
from deployments.models.releases import Deployment


class GateRule(models.Model):
    """One configured rule for one environment of a service.

    `kind` names an entry of the gate's registry (deployments/gate/). Most kinds live in this app;
    `blocking_action_items` is registered by incidents, which deployments never imports.
    """

    class Kind(models.TextChoices):
        REQUIRED_ARTIFACT = "required_artifact", "Required artifact"
        STALE_BUILD = "stale_build", "Stale build"
        PREVIEW_FIRST = "preview_first", "Preview before production"
        BLOCKING_ACTION_ITEMS = "blocking_action_items", "Blocking action items"
        HEALTH_BEFORE_PROMOTION = "health_before_promotion", "Health before promotion"

    class Action(models.TextChoices):
        BLOCK = "block", "Block"
        WARN = "warn", "Warn only"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="gate_rules")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="gate_rules"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.BLOCK)
    path = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Required artifact: the file that must be present. Stale build: the key "
        "artifact compared with the previous deployment (empty compares the whole manifest).",
    )
    min_size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes.")
    max_size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes.")
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["environment_id", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="required_artifact") | ~Q(path=""),
                name="gaterule_required_artifact_has_path",
            ),
            models.CheckConstraint(
                condition=Q(min_size__isnull=True)
                | Q(max_size__isnull=True)
                | Q(min_size__lte=F("max_size")),
                name="gaterule_min_not_above_max",
            ),
        ]
        indexes = [
            # gate_evaluate: the enabled rules of one environment.
            models.Index(fields=["environment", "enabled"], name="gaterule_env_enabled_idx"),
        ]

    def __str__(self) -> str:
        target = f" {self.path}" if self.path else ""
        return f"{self.environment}: {self.get_kind_display()}{target}"


class GateRun(models.Model):
    """One answer of the gate, pass or block, kept so blocked attempts show up too."""

    class Verdict(models.TextChoices):
        PASS = "pass", "Pass"
        BLOCK = "block", "Block"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="gate_runs")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="gate_runs", db_index=False
    )
    commit_sha = models.CharField(max_length=64, validators=[commit_validator])
    manifest_digest = models.CharField(max_length=64, blank=True)
    artifact_count = models.PositiveIntegerField(default=0)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    # [{"rule": kind, "rule_id": id, "outcome": "pass"|"warn"|"block", "message": str,
    #   "found": {...}}, ...] in rule order.
    reasons = models.JSONField(default=list)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployment = models.ForeignKey(
        Deployment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gate_runs",
        help_text="The deployment recorded after this answer, with the same commit and digest.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The environment page's list of gate runs, newest first.
            models.Index(fields=["environment", "created_at"], name="gaterun_env_created_idx"),
            # The blocked answers in a range (the metrics page's near misses): a few among the
            # answers that passed.
            models.Index(
                fields=["created_at"], condition=Q(verdict="block"), name="gaterun_blocked_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment} {self.commit_sha[:7]}: {self.verdict}"
