"""A history of incidents with everything the metrics page, the similar-incidents panel and the
reminders read, written in bulk (one COPY per table, whatever its size: PostgreSQL only), so
their query budgets can be measured at 100 and at 10,000 incidents within seconds.

Every past incident is made from its index alone, with no randomness: the tests compute each
figure again from the plan, without the database, and compare. Past incidents start in an hour
of their own (index times a prime, modulo five years of hours), so growing the history from 100
to 10,000 spreads the new incidents over the same five years, before the incident looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection

from core.roles import Role
from deployments.models import (
    CheckResultHourly,
    Deployment,
    Environment,
    GateRun,
    HealthCheck,
    Service,
)
from incidents.insights.search import SEARCH_CONFIG
from incidents.models import (
    ActionItem,
    Cause,
    Incident,
    SearchDocument,
    Severity,
    TimelineEvent,
)
from tests.factories import user_with_role
from tests.incidents.metrics.bulk import copy_rows, settle
from tests.incidents.metrics.plan import (
    CURRENT_TITLE,
    NOW,
    PAST_NUMBERS,
    PEOPLE,
    RULES,
    SERVICES,
    SEVERE_UNPUBLISHED,
    STUCK_IN_REVIEW,
    THEMES,
    Past,
)


@dataclass
class History:
    services: list[Service]
    productions: list[Environment]
    checks: list[HealthCheck]
    people: list[User]
    admin: User
    current: Incident
    past: list[Past] = field(default_factory=list)

    @property
    def incidents(self) -> int:
        return Incident.objects.count()


def history_start() -> History:
    """Services, people and the incidents that do not grow: the open one looked at (newest, of
    the first service, its capacity cause and failing check shared by earlier ones), the
    post-mortems stuck in review and the severe incidents still unpublished."""
    services = Service.objects.bulk_create(
        Service(name=f"Service {n}", slug=f"service-{n}") for n in range(SERVICES)
    )
    productions = Environment.objects.bulk_create(
        Environment(service=s, name=kind, kind=kind)
        for s in services
        for kind in (Environment.Kind.PRODUCTION, Environment.Kind.PREVIEW)
    )[::2]
    checks = HealthCheck.objects.bulk_create(
        HealthCheck(service=s, name="Home", url=f"https://{s.slug}.example.test/") for s in services
    )
    people = User.objects.bulk_create(
        User(username=f"owner-{n}", email=f"owner-{n}@example.test", password="!")
        for n in range(PEOPLE)
    )
    admin = user_with_role(Role.ADMIN, username="root", email="root@example.test")
    number = 1
    current = Incident.objects.create(
        number=number,
        service=services[0],
        title=CURRENT_TITLE,
        started_at=NOW - timedelta(hours=1),
        detected_at=NOW - timedelta(minutes=50),
    )
    Cause.objects.create(incident=current, title="Too few workers", category="capacity")
    CheckResultHourly.objects.create(
        health_check=checks[0], service=services[0], hour=current.started_at, samples=60, ok_count=0
    )
    stuck = [
        Incident(
            number=number + n,
            service=services[1],
            title="Cache stampede after a restart",
            status=Incident.Status.RESOLVED,
            postmortem_state=Incident.PostmortemState.IN_REVIEW,
            started_at=NOW - timedelta(days=20 + n),
            resolved_at=NOW - timedelta(days=20 + n) + timedelta(hours=1),
        )
        for n in range(1, STUCK_IN_REVIEW + 1)
    ]
    number += STUCK_IN_REVIEW
    unpublished = [
        Incident(
            number=number + n,
            service=services[2],
            title="Payments refused for an hour",
            severity=Severity.SEV1,
            status=Incident.Status.RESOLVED,
            started_at=NOW - timedelta(days=12 + n),
            resolved_at=NOW - timedelta(days=12 + n) + timedelta(hours=1),
        )
        for n in range(1, SEVERE_UNPUBLISHED + 1)
    ]
    number += SEVERE_UNPUBLISHED
    made = Incident.objects.bulk_create([*stuck, *unpublished])
    # In review since long ago: without history rows the last change to the row says when.
    Incident.objects.filter(pk__in=[i.pk for i in made[:STUCK_IN_REVIEW]]).update(
        updated_at=NOW - timedelta(days=15)
    )
    _search_documents([current.pk, *(i.pk for i in made)])
    return History(
        services=services,
        productions=productions,
        checks=checks,
        people=people,
        admin=admin,
        current=current,
    )


def history_grow(history: History, *, to: int) -> None:
    """Add past incidents, with their rows, until the history holds `to` incidents."""
    first = len(history.past)
    past = [
        Past(index=i, service=i % SERVICES) for i in range(first, first + to - history.incidents)
    ]
    history.past.extend(past)
    made = copy_rows(Incident, (_incident(history, p) for p in past))
    ids = {p.index: pk for p, pk in zip(past, made, strict=True)}
    latest = _deployments(history, past)
    copy_rows(Cause, _causes(past, ids, latest))
    copy_rows(ActionItem, _action_items(history, past, ids))
    copy_rows(
        TimelineEvent,
        (
            {
                "incident_id": ids[p.index],
                "kind": TimelineEvent.Kind.ROLLBACK,
                "occurred_at": p.started_at + timedelta(minutes=12),
                "text": "Rolled back the release.",
            }
            for p in past
            if p.rolled_back
        ),
    )
    copy_rows(GateRun, _gate_runs(history, past))
    copy_rows(
        CheckResultHourly,
        (
            {
                "health_check_id": history.checks[p.service].pk,
                "service_id": history.services[p.service].pk,
                "hour": p.started_at,
                "samples": 60,
                "ok_count": 60 - p.failed_samples,
            }
            for p in past
        ),
    )
    _search_documents(list(ids.values()))
    settle(Incident, Cause, ActionItem, TimelineEvent, Deployment, GateRun, CheckResultHourly)
    settle(SearchDocument)


def _incident(history: History, p: Past) -> dict[str, Any]:
    start = p.started_at
    return {
        "number": PAST_NUMBERS + p.index,
        "service_id": history.services[p.service].pk,
        "title": f"{THEMES[(p.index // SERVICES) % len(THEMES)]} ({p.index})",
        "severity": p.severity,
        "status": Incident.Status.RESOLVED,
        "postmortem_state": Incident.PostmortemState.PUBLISHED,
        "started_at": start,
        "detected_at": start + timedelta(minutes=p.detect_minutes),
        "mitigated_at": start + timedelta(minutes=10 + p.index % 30),
        "resolved_at": start + timedelta(minutes=40 + p.index % 120),
        "created_at": start,
    }


def _deployments(history: History, past: list[Past]) -> dict[int, int]:
    """Two production deployments before each incident (a day and half an hour before), the
    later one's id returned by index; a rollback of it for the incidents rolled back."""
    ids = copy_rows(
        Deployment,
        (
            {
                "environment_id": history.productions[p.service].pk,
                "external_id": f"release-{p.index}-{n}",
                "commit_sha": f"{2 * p.index + n:040x}",
                "status": Deployment.Status.SUCCEEDED,
                "started_at": p.started_at - before,
            }
            for p in past
            for n, before in enumerate((timedelta(days=1), timedelta(minutes=30)))
        ),
    )
    latest = {p.index: ids[2 * n + 1] for n, p in enumerate(past)}
    copy_rows(
        Deployment,
        (
            {
                "environment_id": history.productions[p.service].pk,
                "external_id": f"rollback-{p.index}",
                "commit_sha": f"{2 * p.index:040x}",
                "status": Deployment.Status.SUCCEEDED,
                "started_at": p.started_at + timedelta(minutes=12),
                "rollback_of_id": latest[p.index],
            }
            for p in past
            if p.rolled_back
        ),
    )
    return latest


def _causes(
    past: list[Past], ids: dict[int, int], latest: dict[int, int]
) -> Iterator[dict[str, Any]]:
    for p in past:
        yield {
            "incident_id": ids[p.index],
            "kind": Cause.Kind.PRIMARY,
            "title": "What broke",
            "category": p.category,
            "deployment_id": latest[p.index] if p.confirmed else None,
        }
        if p.index % 10 == 5:
            # Drafted by "Start the post-mortem" and never kept: it counts nowhere.
            yield {
                "incident_id": ids[p.index],
                "kind": Cause.Kind.TRIGGER,
                "title": "The suspect deployment",
                "category": Cause.Category.DATA,
                "deployment_id": latest[p.index],
                "proposed": True,
            }


def _action_items(
    history: History, past: list[Past], ids: dict[int, int]
) -> Iterator[dict[str, Any]]:
    """Per incident, written when it started: one done (on time or late), one open and overdue
    once its date passed, and one decided against or open without a date."""
    people = history.people
    for p in past:
        i = p.index
        common = {"incident_id": ids[i], "created_at": p.started_at, "updated_at": p.started_at}
        yield {
            **common,
            "title": "Add an alert",
            "owner_id": people[i % PEOPLE].pk,
            "status": ActionItem.Status.DONE,
            "due_date": p.due,
            "done_at": p.done_at,
        }
        yield {
            **common,
            "title": "Fix the cause",
            "owner_id": people[(i + 1) % PEOPLE].pk,
            "status": ActionItem.Status.IN_PROGRESS if i % 3 == 0 else ActionItem.Status.OPEN,
            "due_date": p.due + timedelta(days=7),
            "blocks_deployments": p.blocks_deployments,
            "order": 1,
        }
        wont = i % 5 == 0
        yield {
            **common,
            "title": "Write the runbook",
            "owner_id": None if i % 7 == 0 else people[(i + 2) % PEOPLE].pk,
            "status": ActionItem.Status.WONT_DO if wont else ActionItem.Status.OPEN,
            "closed_reason": "Covered by the alert." if wont else "",
            "order": 2,
        }


def _gate_runs(history: History, past: list[Past]) -> Iterator[dict[str, Any]]:
    """A blocked answer 40 minutes before each incident of an even index."""
    for p in past:
        if not p.blocked_rules:
            continue
        reasons = [{"rule": rule, "outcome": "block"} for rule in p.blocked_rules]
        reasons.append({"rule": RULES[(p.index + 2) % len(RULES)], "outcome": "warn"})
        yield {
            "service_id": history.services[p.service].pk,
            "environment_id": history.productions[p.service].pk,
            "commit_sha": f"{p.index:040x}",
            "verdict": GateRun.Verdict.BLOCK,
            "reasons": reasons,
            "created_at": p.started_at - timedelta(minutes=40),
        }


def _search_documents(ids: list[int]) -> None:
    """Each incident's search document as the refresh builds it, from the title alone: one
    INSERT ... SELECT, the vectors computed by the database as the refresh has it compute them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SearchDocument._meta.db_table} "
            "(incident_id, heading, prose, rows, vector, heading_vector) "
            "SELECT id, title, '', '', setweight(to_tsvector(%(config)s::regconfig, title), 'A'), "
            "to_tsvector(%(config)s::regconfig, title) "
            f"FROM {Incident._meta.db_table} WHERE id = ANY(%(ids)s)",
            {"config": SEARCH_CONFIG, "ids": ids},
        )
