"""The gate rule incidents owns: open action items that block deployments hold the gate shut.

deployments never imports incidents, so this module puts its rule into the gate's registry from
IncidentsConfig.ready(). The answer names each item, so whoever CI blocked knows what to finish.
"""

from __future__ import annotations

from django.urls import reverse

from deployments.gate import GateContext, Outcome, RuleOutcome, register
from deployments.models import GateRule
from incidents.action_items.selectors import action_items_blocking_deployments
from incidents.models.incident import REFERENCE_PREFIX


def blocking_action_items(rule: GateRule, context: GateContext) -> RuleOutcome:
    """One query: the service's open items marked as blocking deployments."""
    rows = list(
        action_items_blocking_deployments()
        .filter(incident__service_id=context.service.pk)
        .values("id", "title", "status", "incident__number")
    )
    items = []
    for row in rows:
        reference = f"{REFERENCE_PREFIX}{row['incident__number']}"
        url = reverse("incidents:detail", args=[reference])
        items.append(
            {
                "id": row["id"],
                "reference": reference,
                "title": row["title"],
                "status": row["status"],
                "url": f"{url}#row-actions-{row['id']}",
            }
        )
    if not items:
        return RuleOutcome(
            Outcome.PASS,
            f"No open action item of {context.service.slug} blocks deployments.",
            {"items": []},
        )
    named = "; ".join(f"{item['reference']}: {item['title']}" for item in items)
    count = f"{len(items)} open action item{'s' if len(items) != 1 else ''}"
    return RuleOutcome(
        Outcome.BLOCK,
        f"{count} must be finished before {context.service.slug} deploys again: {named}.",
        {"items": items},
    )


def register_gate_rules() -> None:
    """Called from IncidentsConfig.ready(); registering again is harmless."""
    register(GateRule.Kind.BLOCKING_ACTION_ITEMS)(blocking_action_items)
