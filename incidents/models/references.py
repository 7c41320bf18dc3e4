"""Where else an incident is known, and the labels a team sorts incidents by.

Sync jobs (a pager, a ticket tracker) record the id they know an incident by, and find it again
by that id; a source's id names one incident only, so a second job run cannot make a twin.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from incidents.models.incident import Incident

# Lower case, digits and - _ . :, starting with a letter or digit: safe in a query string and a
# URL, and the same however a client capitalises it (the services lower-case what they get).
LABEL_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,49}$"
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,39}$"


class ExternalReference(models.Model):
    """An incident's id in another system: `pager` / `P1X2Y3`, `tickets` / `OPS-42`."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="external_references"
    )
    source = models.CharField(
        max_length=40,
        validators=[RegexValidator(SOURCE_PATTERN, "Lower-case letters, digits and - _ .")],
        help_text="The other system, e.g. pager or tickets.",
    )
    key = models.CharField(max_length=200, help_text="The incident's id in that system.")
    url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "key"]
        constraints = [
            # Also the index of the API's `external=source:key` filter.
            models.UniqueConstraint(fields=["source", "key"], name="external_reference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.key}"


class IncidentLabel(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(
        max_length=50,
        validators=[
            RegexValidator(LABEL_PATTERN, "Lower-case letters, digits and - _ . : (at most 50).")
        ],
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "name"], name="incident_label_unique"),
        ]
        indexes = [
            # The lists' `label=` filter: incidents carrying a label, by name.
            models.Index(fields=["name", "incident"], name="incident_label_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name
