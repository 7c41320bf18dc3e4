"""The demo's system side: MoodMash, its environments, what it shipped and how healthy it was.

Everything here is keyed by something stable (slug, environment name, provider id, check name,
snapshot time), so a second load finds the rows of the first and adds nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F, Q

from deployments.models import Deployment, Environment, HealthCheck, HealthSnapshot, Service
from deployments.services import ProbeOutcome, deployment_record, snapshot_record

SERVICE_SLUG = "moodmash"
SITE = "https://moodmash.win"
PREVIEW_SITE = "https://preview.moodmash.pages.dev"

BROKEN_DEPLOYED_AT = datetime(2026, 1, 2, 6, 1, tzinfo=UTC)
OUTAGE_START = datetime(2026, 1, 2, 6, 2, tzinfo=UTC)
DETECTED_AT = datetime(2026, 1, 2, 6, 4, tzinfo=UTC)
MITIGATED_AT = datetime(2026, 1, 2, 6, 17, tzinfo=UTC)
RESOLVED_AT = datetime(2026, 1, 2, 6, 18, tzinfo=UTC)
SNAPSHOT_MARGIN = timedelta(minutes=30)

KNOWN_GOOD_EXTERNAL_ID = "5be8c75c-4018-4ed9-8ad4-ee4e7ea1adec"
# The post-mortem only gives the short commit; the rest is filled deterministically so the
# column holds a full-length sha like real CI would send.
KNOWN_GOOD_COMMIT = "dc8023d" + hashlib.sha1(b"moodmash dc8023d").hexdigest()[:33]

# Provider ids we make up for the other deployments: uuid5 keeps them stable between loads.
_ID_NAMESPACE = uuid.UUID("6f1c0f5e-2b7a-4d59-9a53-1f0c2a7e9d10")

HEALTH_CHECKS = (
    ("Homepage", "/"),
    ("API health", "/api/health/status"),
    ("Database", "/api/health/database"),
    ("Authentication", "/api/auth/session"),
    ("Login page", "/login"),
)
# What the post-mortem's "deploy to preview first" item says to expect 200 from on the preview URL.
PREVIEW_CHECKS = (
    ("Homepage (preview)", "/"),
    ("API health (preview)", "/api/health/status"),
    ("Login page (preview)", "/login"),
)
# The afternoon after the outage: the build writes its worker again, and the result goes to
# preview first, where its smoke run passes. It is the build the gate lets through to production
# once the items that block deployments are done.
FIX_DEPLOYED_AT = datetime(2026, 1, 2, 15, 10, tzinfo=UTC)
FIX_WORKER_SIZE = 421_337


@dataclass(frozen=True)
class DemoSystem:
    service: Service
    production: Environment
    preview: Environment
    known_good: Deployment
    broken: Deployment
    rollback: Deployment
    preview_fix: Deployment


def _hex(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _external_id(label: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, label))


def _commit(label: str) -> str:
    return hashlib.sha1(f"moodmash {label}".encode()).hexdigest()


def _manifest(commit: str, *, worker: tuple[int, str] | None) -> list[dict]:
    """A Pages upload: the compiled worker (when the build wrote one), routes and static assets.

    worker is (size, the build it came from): deployments that reuse one stale worker share its
    digest, which is how the manifests show the build had stopped producing new ones.
    """
    files = [
        {"path": "_routes.json", "size": 162, "sha256": _hex("routes", "v3")},
        {"path": "static/app.js", "size": 88_431, "sha256": _hex("app.js", commit)},
        {"path": "static/styles.css", "size": 23_906, "sha256": _hex("styles.css", commit)},
        {"path": "static/favicon.svg", "size": 1_214, "sha256": _hex("favicon.svg", "v1")},
        {"path": "static/manifest.webmanifest", "size": 486, "sha256": _hex("webmanifest", "v1")},
    ]
    if worker is not None:
        size, build = worker
        files.append({"path": "_worker.js", "size": size, "sha256": _hex("_worker.js", build)})
    return files


def _environments(service: Service) -> tuple[Environment, Environment]:
    production, _ = Environment.objects.update_or_create(
        service=service,
        name="production",
        defaults={
            "kind": Environment.Kind.PRODUCTION,
            "url": SITE,
            "branch": "main",
            "rollback_command_template": "npx wrangler pages deployment rollback {external_id}",
        },
    )
    preview, _ = Environment.objects.update_or_create(
        service=service,
        name="preview",
        defaults={
            "kind": Environment.Kind.PREVIEW,
            "url": PREVIEW_SITE,
            "branch": "preview",
        },
    )
    return production, preview


def _deployments(production: Environment) -> tuple[Deployment, Deployment, Deployment]:
    # (days before the outage, label, worker size, which build the worker came from). From
    # 19 December on the worker never changes: the build had quietly stopped writing new ones.
    history = (
        (28, "dec-05", 401_228, "dec-05"),
        (22, "dec-11", 405_730, "dec-11"),
        (16, "dec-17", 412_884, "dec-17"),
        (14, "dec-19", 419_952, "dec-19"),
        (9, "dec-24", 419_952, "dec-19"),
    )
    for days, label, size, build in history:
        start = BROKEN_DEPLOYED_AT.replace(hour=18, minute=20) - timedelta(days=days)
        commit = _commit(label)
        deployment_record(
            environment=production,
            external_id=_external_id(label),
            commit_sha=commit,
            branch="main",
            status=Deployment.Status.SUCCEEDED,
            deployed_by="demo-editor (wrangler pages deploy)",
            manifest=_manifest(commit, worker=(size, build)),
            started_at=start,
            finished_at=start + timedelta(seconds=48),
        )

    good_start = datetime(2025, 12, 30, 21, 40, tzinfo=UTC)
    good_manifest = _manifest(KNOWN_GOOD_COMMIT, worker=(419_952, "dec-19"))
    known_good, _ = deployment_record(
        environment=production,
        external_id=KNOWN_GOOD_EXTERNAL_ID,
        commit_sha=KNOWN_GOOD_COMMIT,
        branch="main",
        status=Deployment.Status.SUCCEEDED,
        deployed_by="demo-editor (wrangler pages deploy)",
        manifest=good_manifest,
        started_at=good_start,
        finished_at=good_start + timedelta(seconds=51),
    )

    broken_commit = _commit("jan-02")
    # The provider accepted and activated the upload, so it was never "failed"; it ends as
    # rolled back because the rollback below replaced it.
    broken, _ = deployment_record(
        environment=production,
        external_id=_external_id("jan-02"),
        commit_sha=broken_commit,
        branch="main",
        status=Deployment.Status.ROLLED_BACK,
        deployed_by="demo-editor (wrangler pages deploy)",
        manifest=_manifest(broken_commit, worker=None),
        started_at=BROKEN_DEPLOYED_AT,
        finished_at=BROKEN_DEPLOYED_AT + timedelta(seconds=44),
    )

    # A Pages rollback serves the earlier upload again, so it ships the known-good files.
    rollback, _ = deployment_record(
        environment=production,
        external_id=_external_id("jan-02-rollback"),
        commit_sha=KNOWN_GOOD_COMMIT,
        branch="main",
        status=Deployment.Status.SUCCEEDED,
        deployed_by="demo-editor (wrangler pages deployment rollback)",
        manifest=good_manifest,
        started_at=MITIGATED_AT - timedelta(seconds=35),
        finished_at=MITIGATED_AT,
        rollback_of=broken,
    )
    return known_good, broken, rollback


def _preview_fix(preview: Environment) -> Deployment:
    """The rebuilt upload with its worker back, deployed to preview first."""
    commit = _commit("jan-02-fix")
    deployment, _ = deployment_record(
        environment=preview,
        external_id=_external_id("jan-02-fix-preview"),
        commit_sha=commit,
        branch="preview",
        status=Deployment.Status.SUCCEEDED,
        deployed_by="demo-editor (wrangler pages deploy --branch preview)",
        manifest=fix_manifest(),
        started_at=FIX_DEPLOYED_AT,
        finished_at=FIX_DEPLOYED_AT + timedelta(seconds=47),
    )
    return deployment


def fix_manifest() -> list[dict]:
    """The fixed build's files: what CI would send the gate before promoting it."""
    return _manifest(_commit("jan-02-fix"), worker=(FIX_WORKER_SIZE, "jan-02-fix"))


def _health_checks(
    environment: Environment, site: str, named: tuple[tuple[str, str], ...], *, first: int = 1
) -> list[HealthCheck]:
    checks = []
    service = environment.service
    for order, (name, path) in enumerate(named, start=first):
        check, _ = HealthCheck.objects.update_or_create(
            service=service,
            name=name,
            defaults={"environment": environment, "url": f"{site}{path}", "order": order},
        )
        checks.append(check)
    return checks


def in_outage(moment: datetime) -> bool:
    """Whether the site was down at this minute: from the start up to, not including, 06:18."""
    return OUTAGE_START <= moment < RESOLVED_AT


def _outcomes(checks: list[HealthCheck], moment: datetime) -> list[ProbeOutcome]:
    minute = int(moment.timestamp() // 60)
    if in_outage(moment):
        return [
            ProbeOutcome(
                health_check=check,
                ok=False,
                status_code=404,
                latency_ms=18 + (minute * 7 + i * 5) % 25,
                error="Expected HTTP 200, got 404 Not Found.",
            )
            for i, check in enumerate(checks)
        ]
    return [
        ProbeOutcome(
            health_check=check,
            ok=True,
            status_code=200,
            latency_ms=60 + (minute * 13 + i * 29) % 140,
        )
        for i, check in enumerate(checks)
    ]


def _snapshots(service: Service, checks: list[HealthCheck]) -> None:
    first, last = OUTAGE_START - SNAPSHOT_MARGIN, RESOLVED_AT + SNAPSHOT_MARGIN
    taken = set(
        HealthSnapshot.objects.filter(
            service=service, taken_at__gte=first, taken_at__lte=last
        ).values_list("taken_at", flat=True)
    )
    moment = first
    while moment <= last:
        if moment not in taken:
            snapshot_record(service=service, taken_at=moment, outcomes=_outcomes(checks, moment))
        moment += timedelta(minutes=1)


# After the known-good deployment, a snapshot every five minutes for 35 minutes: enough healthy
# evidence to make it the last known good under the default HINDSIGHT_LAST_KNOWN_GOOD_MINUTES
# (30), while the broken deployment's own snapshots fail within a minute.
KNOWN_GOOD_WATCH = timedelta(minutes=35)
KNOWN_GOOD_EVERY = timedelta(minutes=5)


def _smoke_results(known_good: Deployment, broken: Deployment, preview_fix: Deployment) -> None:
    """What each deployment's smoke run found, a minute after it finished.

    Every production deployment of the story passed except the broken one, whose upload had no
    worker, and so did the fixed build on preview. Set on every load, like the deployments
    themselves; deployments recorded after the story (someone trying the demo) keep whatever
    their own smoke runs found.
    """
    checked_at = F("finished_at") + timedelta(minutes=1)
    Deployment.objects.filter(
        Q(environment=known_good.environment, finished_at__lte=MITIGATED_AT) | Q(pk=preview_fix.pk),
        status=Deployment.Status.SUCCEEDED,
    ).update(health=Deployment.Health.HEALTHY, health_checked_at=checked_at)
    Deployment.objects.filter(pk=broken.pk).update(
        health=Deployment.Health.UNHEALTHY, health_checked_at=checked_at
    )


def _watch_known_good(service: Service, checks: list[HealthCheck], known_good: Deployment) -> None:
    """The healthy snapshots after the known-good deployment went live."""
    assert known_good.finished_at is not None  # _deployments() records it finished
    first = known_good.finished_at.replace(second=0) + KNOWN_GOOD_EVERY
    moments = [first + KNOWN_GOOD_EVERY * i for i in range(KNOWN_GOOD_WATCH // KNOWN_GOOD_EVERY)]
    taken = set(
        HealthSnapshot.objects.filter(service=service, taken_at__in=moments).values_list(
            "taken_at", flat=True
        )
    )
    for moment in moments:
        if moment not in taken:
            snapshot_record(service=service, taken_at=moment, outcomes=_outcomes(checks, moment))


def system_load() -> DemoSystem:
    """Create or refresh the demo's service, environments, deployments, checks and snapshots."""
    service, _ = Service.objects.update_or_create(
        slug=SERVICE_SLUG,
        defaults={
            "name": "MoodMash",
            "public_url": SITE,
            "description": "Mood tracking web app on Cloudflare Pages with a D1 database.",
        },
    )
    production, preview = _environments(service)
    known_good, broken, rollback = _deployments(production)
    preview_fix = _preview_fix(preview)
    _smoke_results(known_good, broken, preview_fix)
    checks = _health_checks(production, SITE, HEALTH_CHECKS)
    _health_checks(preview, PREVIEW_SITE, PREVIEW_CHECKS, first=len(HEALTH_CHECKS) + 1)
    # Oldest first: each scheduled snapshot is judged against the one before it.
    _watch_known_good(service, checks, known_good)
    _snapshots(service, checks)
    return DemoSystem(
        service=service,
        production=production,
        preview=preview,
        known_good=known_good,
        broken=broken,
        rollback=rollback,
        preview_fix=preview_fix,
    )
