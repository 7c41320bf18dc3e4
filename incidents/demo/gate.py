"""The demo's deployment gate: the rules MoodMash production would have had, and the answer
they give the upload of 2 January that shipped without its compiled worker.

The answer is not written here. The broken deployment's manifest, as recorded, is put to the real
gate (gate_evaluate) when the demo is first loaded, and what the rules found is stored like any
other answer, with the time it was asked. It is tied to that deployment as deployment_record ties
an answer to the deployment that follows it, so the deployment's row shows what the gate says.
"""

from __future__ import annotations

from deployments.models import GateRule, GateRun
from deployments.services import gate_evaluate, gate_rule_create, gate_run_link
from incidents.demo.system import DemoSystem

KIB = 1024
_K, _A = GateRule.Kind, GateRule.Action

# (kind, path, action, min_size). Preview first blocks: the fixed build of the afternoon ran
# healthy in preview, and the upload of the morning never went there, which is one of the
# post-mortem's lessons. Health before promotion only warns: the demo runs no checks, so
# production's health is unknown (its last check is the outage's), and as a blocking rule it
# would hold back every build, however good, until someone runs a prober against the site.
RULES = (
    (_K.REQUIRED_ARTIFACT, "_worker.js", _A.BLOCK, 100 * KIB),
    (_K.REQUIRED_ARTIFACT, "_routes.json", _A.BLOCK, None),
    (_K.STALE_BUILD, "_worker.js", _A.BLOCK, None),
    (_K.PREVIEW_FIRST, "", _A.BLOCK, None),
    (_K.BLOCKING_ACTION_ITEMS, "", _A.BLOCK, None),
    (_K.HEALTH_BEFORE_PROMOTION, "", _A.WARN, None),
)


def _rules(system: DemoSystem) -> None:
    existing = set(
        GateRule.objects.filter(environment=system.production).values_list("kind", "path")
    )
    for order, (kind, path, action, min_size) in enumerate(RULES, start=1):
        # Keyed by kind and path: a rule someone edited in the demo stays as they left it.
        if (kind, path) not in existing:
            gate_rule_create(
                environment=system.production,
                kind=kind,
                path=path,
                action=action,
                min_size=min_size,
                order=order * 10,
            )


def gate_load(system: DemoSystem) -> GateRun:
    """Create the rules and the gate's answer for the broken deployment, once."""
    _rules(system)
    broken = system.broken
    asked = GateRun.objects.filter(
        environment=system.production,
        commit_sha=broken.commit_sha,
        manifest_digest=broken.manifest_digest,
    ).first()
    if asked is not None:
        return asked
    run = gate_evaluate(
        service=system.service,
        environment=system.production,
        commit_sha=broken.commit_sha,
        manifest=list(broken.artifacts.values("path", "size", "sha256")),
    )
    # The deployment was recorded long before this answer; tie them as deployment_record would
    # have, had CI asked first.
    gate_run_link(deployment=broken)
    run.refresh_from_db()
    return run
