"""What runs where: services and their environments."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now

sha256_validator = RegexValidator(r"^[0-9a-f]{64}$", "Enter a lowercase hex SHA-256 digest.")
commit_validator = RegexValidator(
    r"^[0-9a-f]{4,64}$", "Enter a hex commit id (4 to 64 characters)."
)


class Service(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    public_url = models.URLField(blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the next scheduled health snapshot is due. The dispatcher claims a slot by moving it
    # forward with compare-and-set, so two beats never enqueue the same slot. Null: not yet.
    probe_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    class Kind(models.TextChoices):
        PRODUCTION = "production", "Production"
        PREVIEW = "preview", "Preview"
        STAGING = "staging", "Staging"
        DEVELOPMENT = "development", "Development"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=50, help_text="As CI names it, e.g. production or preview.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PRODUCTION)
    url = models.URLField(blank=True)
    branch = models.CharField(max_length=200, blank=True)
    rollback_command_template = models.CharField(
        max_length=500,
        blank=True,
        help_text="Shell command to roll back, e.g. "
        "'npx wrangler pages deployment rollback {external_id}'.",
    )

    # When the row last changed (auto_now; a service writing with .update() sets it too).
    # Indexed for the lists' updated_after, which sync jobs poll. The database's default fills
    # it for rows written by code that predates it (a rolling upgrade, an old migration).
    updated_at = models.DateTimeField(auto_now=True, db_index=True, db_default=Now())

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="environment_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service} / {self.name}"
