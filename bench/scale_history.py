"""A history of years of incidents on PostgreSQL, generated fast enough to benchmark against.

Used by bench/scale.py and by its smoke test. It needs Django set up on a PostgreSQL database
(the rows go in with COPY, through the connection's own psycopg cursor).

- history_base(): what does not grow with the incidents: people, services with a production and
  a preview environment, one health check each, and the last `health_days` of minute health
  snapshots and results (with their hourly roll-ups), in INSERT ... SELECT generate_series.
- history_fill(): `incidents` incidents spread over `years` ending now, each with its timeline,
  causes, lessons, action items (open, overdue and done, owned by many people) and success
  criteria, plus deployments and recorded changes. The newest three are still open and the next
  seven are in review, whatever the size, so the dashboard's lists keep their length. For the
  metrics page's charts also: cause categories, the gate's answers (some blocked, by rule), the
  hourly roll-ups of each incident's failing check, and a third of the resolved incidents
  caused by a production deployment the team confirmed, and rolled back on their timeline.

Markdown goes through the app's one renderer, once per distinct text: the stored HTML is what
the services would have stored. No history rows (simple_history) are written: no page measured
reads them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from scale_rows import (
    CHANGES_EACH,
    DEPLOYMENTS,
    GATE_RUNS,
    OPEN_NEWEST,
    PlannedIncident,
    action_item_rows,
    cause_rows,
    change_rows,
    criterion_rows,
    deployment_rows,
    failing_hour_rows,
    gate_run_rows,
    incident_rows,
    lesson_rows,
    moments,
    timeline_rows,
)
from scale_texts import THEMES

from deployments.models import (
    Change,
    CheckResult,
    CheckResultHourly,
    Deployment,
    Environment,
    GateRun,
    HealthCheck,
    HealthSnapshot,
    Service,
)
from incidents.insights.services import search_documents_sweep
from incidents.models import (
    ActionItem,
    Cause,
    Incident,
    Lesson,
    SearchDocument,
    SuccessCriterion,
    TimelineEvent,
)

SERVICES = 50
PEOPLE = 50
OWNER_PREFIX = "bench-person-"


def _copy(model: type[models.Model], rows_from: Callable[[int], Iterable[dict[str, Any]]]) -> int:
    """COPY the rows that `rows_from(first free id)` yields (dicts by attname) into the model's
    table; a field a row leaves out gets the model's default, as the ORM would have given it.
    Returns the rows written."""
    first_id = _next_id(model)
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    defaults: dict[str, Any] = {}
    for field in fields:
        if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
            defaults[field.attname] = now
        else:
            # The declared default, else "" for text and None for the rest, as the ORM does.
            defaults[field.attname] = field.get_default()
    json_names = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    written = 0
    with connection.cursor() as wrapper:
        with wrapper.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows_from(first_id):
                values = []
                for field in fields:
                    value = row[field.attname] if field.attname in row else defaults[field.attname]
                    values.append(json.dumps(value) if field.attname in json_names else value)
                copy.write_row(values)
                written += 1
        wrapper.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"GREATEST((SELECT max(id) FROM {table}), 1))",
            [model._meta.db_table],
        )
    return written


def _causes_confirm(incident_ids: list[int]) -> None:
    """The primary cause of each of these incidents names the last production deployment of
    its service before it ("Mark as cause"): what the change failure rate counts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_cause c SET deployment_id = ("
            " SELECT d.id FROM deployments_deployment d"
            " JOIN deployments_environment e ON e.id = d.environment_id"
            " WHERE e.service_id = i.service_id AND e.kind = 'production'"
            " AND d.rollback_of_id IS NULL AND d.started_at < i.started_at"
            " ORDER BY d.started_at DESC LIMIT 1"
            ") FROM incidents_incident i"
            ' WHERE i.id = c.incident_id AND c."order" = 0 AND i.id = ANY(%s)',
            [incident_ids],
        )


def _next_id(model: type[models.Model]) -> int:
    return (model._default_manager.aggregate(top=models.Max("id"))["top"] or 0) + 1


@contextmanager
def _trusted_rows() -> Iterator[None]:
    """Generated rows are consistent by construction: skipping the foreign key triggers (a
    superuser may; others just don't) loads millions of health results minutes faster. No
    effect on reads."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    except DatabaseError:
        trusted = False
    else:
        trusted = True
    try:
        yield
    finally:
        if trusted:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")


def history_base(*, now: datetime, health_days: float) -> None:
    """People, services, environments, checks and `health_days` of minute health data."""
    editors = Group.objects.get(name="editor")
    people = User.objects.bulk_create(
        User(username=f"{OWNER_PREFIX}{n:02}", first_name=f"Person {n}", password="!")
        for n in range(1, PEOPLE + 1)
    )
    editors.user_set.add(*people)
    services = Service.objects.bulk_create(
        Service(name=f"Service {n:02}", slug=f"service-{n:02}") for n in range(1, SERVICES + 1)
    )
    Environment.objects.bulk_create(
        Environment(service=service, name=name, kind=name)
        for service in services
        for name in ("production", "preview")
    )
    HealthCheck.objects.bulk_create(
        HealthCheck(service=s, name="Homepage", url=f"https://{s.slug}.example.test/")
        for s in services
    )
    minutes = int(health_days * 24 * 60)
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    bounds: dict[str, Any] = {"start": start, "minutes": minutes}
    with _trusted_rows(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO deployments_healthsnapshot (service_id, taken_at, status, kind) "
            "SELECT s.id, %(start)s + m * interval '1 minute', 'up', 'scheduled' "
            "FROM generate_series(0, %(minutes)s - 1) m, deployments_service s",
            bounds,
        )
        cursor.execute(
            "INSERT INTO deployments_checkresult (snapshot_id, health_check_id, service_id, "
            "taken_at, ok, status_code, latency_ms, error, maintenance) "
            "SELECT sn.id, c.id, sn.service_id, sn.taken_at, true, 200, "
            "(20 + random() * 300)::int, '', false "
            "FROM deployments_healthsnapshot sn "
            "JOIN deployments_healthcheck c ON c.service_id = sn.service_id"
        )
        cursor.execute(
            "INSERT INTO deployments_checkresulthourly (health_check_id, service_id, hour, "
            "samples, ok_count, maintenance_count, latency_p50_ms, latency_p95_ms) "
            "SELECT health_check_id, service_id, date_trunc('hour', taken_at), count(*), "
            "count(*) FILTER (WHERE ok), 0, "
            "percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms), "
            "percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) "
            "FROM deployments_checkresult GROUP BY 1, 2, 3"
        )


def _plan(rng: random.Random, incidents: int, now: datetime, years: float) -> list[PlannedIncident]:
    services = list(Service.objects.order_by("id"))
    first_id = _next_id(Incident)
    first_number = (Incident.objects.aggregate(top=models.Max("number"))["top"] or 0) + 1
    # The newest started three hours ago, the oldest up to `years` before now.
    newest = now - timedelta(hours=3)
    starts = [*moments(rng, incidents - 1, now - timedelta(days=365 * years), newest), newest]
    themes = rng.choices(THEMES, weights=[t.weight for t in THEMES], k=incidents)
    plan = []
    for n, started in enumerate(starts):
        still_open = n >= incidents - OPEN_NEWEST
        plan.append(
            PlannedIncident(
                id=first_id + n,
                number=first_number + n,
                service=rng.choice(services),
                theme=themes[n],
                started_at=started,
                resolved_at=None
                if still_open
                else started + timedelta(minutes=rng.randint(15, 240)),
            )
        )
    return plan


def history_fill(
    *, incidents: int, now: datetime, years: float = 5, seed: int = 18, text_only: bool = False
) -> dict[str, int]:
    """Write the history (after history_base) and return the rows written by table.

    `text_only` leaves out deployments and changes: what a search-only size needs.
    """
    rng = random.Random(seed)
    people = list(User.objects.filter(username__startswith=OWNER_PREFIX).order_by("username"))
    plan = _plan(rng, incidents, now, years)
    counts = {
        "incidents": _copy(Incident, lambda _: incident_rows(rng, plan, people[0], now)),
        "timeline events": _copy(TimelineEvent, lambda first: timeline_rows(rng, plan, first)),
        "causes": _copy(Cause, lambda first: cause_rows(rng, plan, first)),
        "lessons": _copy(Lesson, lambda first: lesson_rows(rng, plan, first)),
        "action items": _copy(
            ActionItem, lambda first: action_item_rows(rng, plan, people, now, first)
        ),
        "success criteria": _copy(
            SuccessCriterion, lambda first: criterion_rows(rng, plan, now, first)
        ),
    }
    if not text_only:
        start = plan[0].started_at - timedelta(days=1)
        environments = list(Environment.objects.order_by("id"))
        services = list(Service.objects.order_by("id"))
        shipped = moments(rng, incidents * DEPLOYMENTS, start, now)
        changed = moments(rng, incidents * CHANGES_EACH, start, now)
        counts["deployments"] = _copy(
            Deployment, lambda first: deployment_rows(rng, environments, shipped, first)
        )
        counts["changes"] = _copy(Change, lambda first: change_rows(rng, services, changed, first))
        # What the metrics page's charts read besides incidents, from a generator of its own so
        # the rows above stay as they were before these were added.
        extra = random.Random(seed + 1)
        productions = [e for e in environments if e.kind == Environment.Kind.PRODUCTION]
        gated = moments(extra, incidents * GATE_RUNS, start, now)
        counts["gate runs"] = _copy(
            GateRun, lambda first: gate_run_rows(extra, productions, gated, first)
        )
        checks = dict(HealthCheck.objects.values_list("service_id", "id"))
        rolled_up_from = CheckResultHourly.objects.aggregate(first=models.Min("hour"))["first"]
        counts["failing check hours"] = _copy(
            CheckResultHourly,
            lambda first: failing_hour_rows(plan, checks, rolled_up_from, first),
        )
        _causes_confirm([inc.id for inc in plan if inc.confirmed])
    # What the beat's sweep does for rows written around the services: each incident's search
    # document, so the searches timed read what a real history would have.
    counts["search documents"] = 0
    while built := search_documents_sweep(batch_size=2000):
        counts["search documents"] += built
    return counts


# What history_base writes, and what history_fill writes, for vacuum().
BASE_TABLES = (
    User,
    Service,
    Environment,
    HealthCheck,
    HealthSnapshot,
    CheckResult,
    CheckResultHourly,
)
HISTORY_TABLES = (
    Incident,
    TimelineEvent,
    Cause,
    Lesson,
    ActionItem,
    SuccessCriterion,
    Deployment,
    Change,
    GateRun,
    CheckResultHourly,
    SearchDocument,
)


def vacuum(models_: Iterable[type[models.Model]]) -> None:
    """VACUUM ANALYZE what was written, as autovacuum would have by the time anyone reads it:
    fresh statistics for the planner, and visibility maps for index-only scans. Outside any
    transaction (VACUUM refuses to run in one)."""
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def busiest_owner() -> User:
    """The person who owns the most items: the benchmark looks at the pages as them."""
    return User.objects.get(username=f"{OWNER_PREFIX}01")
