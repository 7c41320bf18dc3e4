"""The history the status page benchmark (status_page.py) generates in its throwaway database:
90 days of hourly uptime for the demo's checks, and for the large size, public incidents over
five years with their published updates, all by bulk inserts. Call after django.setup()."""

from __future__ import annotations

from datetime import timedelta

UPDATES_PER_INCIDENT = 3


def uptime_history() -> None:
    """90 days of hourly roll-ups for every demo check, one bad afternoon, and a fresh answer."""
    from django.utils import timezone

    from deployments.models import CheckResult, CheckResultHourly, HealthCheck, HealthSnapshot

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    checks = list(HealthCheck.objects.filter(enabled=True))
    rows = []
    for check in checks:
        for hours_ago in range(1, 90 * 24):
            bad = 17 * 24 <= hours_ago < 17 * 24 + 3
            rows.append(
                CheckResultHourly(
                    health_check=check,
                    service_id=check.service_id,
                    hour=now - timedelta(hours=hours_ago),
                    samples=60,
                    ok_count=12 if bad else 60,
                    latency_p50_ms=120,
                    latency_p95_ms=480,
                )
            )
    CheckResultHourly.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    taken_at = timezone.now() - timedelta(seconds=30)
    for service_id in {check.service_id for check in checks}:
        snapshot = HealthSnapshot.objects.create(
            service_id=service_id, taken_at=taken_at, status="up"
        )
        CheckResult.objects.bulk_create(
            CheckResult(
                snapshot=snapshot,
                health_check=check,
                service_id=service_id,
                taken_at=taken_at,
                ok=True,
                status_code=200,
                latency_ms=110,
            )
            for check in checks
            if check.service_id == service_id
        )


def large_history(count: int) -> None:
    """`count` resolved public incidents over five years, each with UPDATES_PER_INCIDENT published
    status-page updates, by bulk inserts."""
    from django.db.models import Max
    from django.utils import timezone

    from deployments.models import Service
    from incidents.models import Audience, Communication, Incident, Phase

    services = list(Service.objects.all())
    first = (Incident.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    now = timezone.now()
    step = timedelta(days=5 * 365) / count
    incidents = []
    for n in range(count):
        started = now - timedelta(days=5 * 365) + n * step
        incidents.append(
            Incident(
                number=first + n,
                service=services[n % len(services)],
                title=f"Bench incident {n}",
                status=Incident.Status.RESOLVED,
                status_line="Resolved",
                started_at=started,
                resolved_at=started + timedelta(hours=2),
                impact_html="<p>Some requests failed for a while.</p>",
                public_since=started,
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=2000)
    ids = dict(Incident.objects.filter(number__gte=first).values_list("number", "pk"))
    phases = [Phase.INVESTIGATING, Phase.IDENTIFIED, Phase.RESOLVED]
    updates = [
        Communication(
            incident_id=ids[incident.number],
            audience=Audience.STATUS_PAGE,
            phase=phases[u % len(phases)],
            status=Communication.Status.SENT,
            subject=f"Update {u + 1} on bench incident {incident.number}",
            body_html="<p>We are on it; the next update follows within the hour.</p>",
            approved_at=incident.started_at + timedelta(minutes=30 * u),
            sent_at=incident.started_at + timedelta(minutes=30 * u),
        )
        for incident in incidents
        for u in range(UPDATES_PER_INCIDENT)
    ]
    Communication.objects.bulk_create(updates, batch_size=2000)
