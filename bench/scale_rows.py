"""The rows of the scale benchmark's history, one generator per table (bench/scale_history.py
writes them with COPY).

A generator runs while its table's COPY holds the connection, so it reads nothing from the
database: the first id and every row it points at are handed to it.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from scale_texts import (
    CHANGES,
    COMMON_ACTIONS,
    COMMON_LINES,
    CRITERIA,
    IMPACTS,
    LESSONS,
    NEXT_STEPS,
    RESOLUTIONS,
    Theme,
)

from core.rendering import render
from deployments.models import Environment, GateRule, Service

# Per incident, as measured on the history the issue describes (10,001 incidents: 300,010
# timeline events, 80,031 action items, 200,008 deployments).
TIMELINE = 30
ACTION_ITEMS = 8
CAUSES = 3
LESSONS_EACH = 3
CRITERIA_EACH = 2
DEPLOYMENTS = 20
CHANGES_EACH = 5
OPEN_NEWEST = 3
IN_REVIEW_NEXT = 7
# Items younger than this are still being worked on; older open ones are the forgotten backlog.
RECENT = timedelta(days=90)
# Gate answers per incident (the gate is asked before some deployments), and the share it blocks.
GATE_RUNS = 5
BLOCKED = 0.12
# The categories of the contributing causes, after the primary's (its theme's).
CONTRIBUTING_CATEGORIES = ("monitoring", "process")
# Failing hours rolled up per incident at most: from its start, until it was resolved.
FAILING_HOURS = 4


@functools.cache
def html(text: str) -> str:
    return render(text)


def md(name: str, text: str) -> dict[str, str]:
    """A Markdown field and its stored HTML, by attname."""
    return {name: text, f"{name}_html": html(text)}


@dataclass
class PlannedIncident:
    id: int
    number: int
    service: Service
    theme: Theme
    started_at: datetime
    resolved_at: datetime | None

    def say(self, text: str) -> str:
        return text.format(service=self.service.name)

    @property
    def confirmed(self) -> bool:
        """A third of the resolved incidents were caused by a deployment the team confirmed
        ("Mark as cause") and rolled back: a share of ids, so no random draw changes the rest."""
        return self.resolved_at is not None and self.id % 3 == 0


def incident_rows(
    rng: random.Random, plan: list[PlannedIncident], creator: User, now: datetime
) -> Iterator[dict[str, Any]]:
    newest = len(plan) - 1
    for index, inc in enumerate(plan):
        age = newest - index
        if age < OPEN_NEWEST:
            status, state = ("investigating", "identified", "monitoring")[age], "draft"
        else:
            status, state = "resolved", "in_review" if age < OPEN_NEWEST + IN_REVIEW_NEXT else ""
            state = state or "published"
        started = inc.started_at
        public = status == "resolved" and rng.random() < 0.4
        yield {
            "id": inc.id,
            "number": inc.number,
            "service_id": inc.service.pk,
            "title": inc.say(rng.choice(inc.theme.titles)),
            "severity": rng.choice(["sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4"]),
            "status": status,
            "postmortem_state": state,
            "started_at": started,
            "detected_at": started + timedelta(minutes=rng.randint(1, 5)),
            "mitigated_at": started + timedelta(minutes=rng.randint(5, 15)),
            "resolved_at": inc.resolved_at,
            "public_since": started + timedelta(minutes=10) if public else None,
            "created_by_id": creator.pk,
            "created_at": started,
            "updated_at": inc.resolved_at or now,
            **md("summary", inc.say(rng.choice(inc.theme.summaries))),
            **md("impact", inc.say(rng.choice(IMPACTS))),
            **md("resolution", inc.say(rng.choice(RESOLUTIONS)) if inc.resolved_at else ""),
            **md("next_step", rng.choice(NEXT_STEPS)),
        }


def timeline_rows(
    rng: random.Random, plan: list[PlannedIncident], next_id: int
) -> Iterator[dict[str, Any]]:
    kinds = ["note", "action", "action", "detected", "communication", "status_change"]
    for inc in plan:
        span = (
            (inc.resolved_at or inc.started_at + timedelta(hours=2)) - inc.started_at
        ) / TIMELINE
        for n in range(TIMELINE):
            pool = inc.theme.lines if n % 4 == 1 else COMMON_LINES
            at = inc.started_at + span * n
            kind = rng.choice(kinds)
            if n == 2 and inc.confirmed:
                kind = "rollback"  # what the detection-to-rollback chart reads
            yield {
                "id": next_id,
                "incident_id": inc.id,
                "occurred_at": at,
                "kind": kind,
                "created_at": at,
                **md("text", inc.say(rng.choice(pool))),
            }
            next_id += 1


def cause_rows(
    rng: random.Random, plan: list[PlannedIncident], next_id: int
) -> Iterator[dict[str, Any]]:
    for inc in plan:
        for n in range(CAUSES):
            yield {
                "id": next_id,
                "incident_id": inc.id,
                "kind": "primary" if n == 0 else "contributing",
                "category": inc.theme.category
                if n == 0
                else CONTRIBUTING_CATEGORIES[(n - 1) % len(CONTRIBUTING_CATEGORIES)],
                "order": n,
                "title": inc.say(inc.theme.causes[n % len(inc.theme.causes)]),
                **md("detail", inc.say(rng.choice(inc.theme.summaries))),
            }
            next_id += 1


def lesson_rows(
    rng: random.Random, plan: list[PlannedIncident], next_id: int
) -> Iterator[dict[str, Any]]:
    for inc in plan:
        for n, kind in enumerate(list(LESSONS)[:LESSONS_EACH]):
            yield {
                "id": next_id,
                "incident_id": inc.id,
                "kind": kind,
                "order": n,
                **md("text", inc.say(rng.choice(LESSONS[kind]))),
            }
            next_id += 1


def _item_status(rng: random.Random, recent: bool) -> str:
    weights = [50, 10, 40, 0] if recent else [25, 5, 65, 5]
    return rng.choices(["open", "in_progress", "done", "wont_do"], weights=weights)[0]


def action_item_rows(
    rng: random.Random, plan: list[PlannedIncident], people: list[User], now: datetime, next_id: int
) -> Iterator[dict[str, Any]]:
    # A few people own most items, as in any team: the first owns the longest backlog.
    weights = [1 / rank for rank in range(1, len(people) + 1)]
    for inc in plan:
        owners = rng.choices(people, weights=weights, k=ACTION_ITEMS)
        for n in range(ACTION_ITEMS):
            pool = inc.theme.actions if n < 2 else COMMON_ACTIONS
            status = _item_status(rng, now - inc.started_at < RECENT)
            created: date = inc.started_at.date()
            done_at = inc.started_at + timedelta(days=rng.randint(1, 40))
            yield {
                "id": next_id,
                "incident_id": inc.id,
                "title": inc.say(rng.choice(pool)),
                "status": status,
                "priority": rng.choice(["p1", "p2", "p2", "p3"]),
                "kind": rng.choice(["prevent", "mitigate", "process", "detect"]),
                "horizon": rng.choice(["today", "this_week", "long_term"]),
                "owner_id": owners[n].pk,
                "due_date": created + timedelta(days=rng.randint(7, 60))
                if rng.random() < 0.8
                else None,
                "blocks_deployments": rng.random() < 0.02,
                "done_at": min(done_at, now) if status == "done" else None,
                "done_by_id": owners[n].pk if status == "done" else None,
                "closed_reason": "Superseded by a later fix." if status == "wont_do" else "",
                "order": n,
                "created_at": inc.started_at,
                "updated_at": inc.started_at,
                **md("detail", ""),
            }
            next_id += 1


def criterion_rows(
    rng: random.Random, plan: list[PlannedIncident], now: datetime, next_id: int
) -> Iterator[dict[str, Any]]:
    for inc in plan:
        for n in range(CRITERIA_EACH):
            done = now - inc.started_at > RECENT and rng.random() < 0.8
            yield {
                "id": next_id,
                "incident_id": inc.id,
                "group": "before_next_deployment",
                "done": done,
                "done_at": inc.started_at + timedelta(days=30) if done else None,
                "order": n,
                **md("text", inc.say(CRITERIA[(inc.number + n) % len(CRITERIA)])),
            }
            next_id += 1


def moments(rng: random.Random, count: int, start: datetime, end: datetime) -> list[datetime]:
    seconds = (end - start).total_seconds()
    return sorted(start + timedelta(seconds=rng.random() * seconds) for _ in range(count))


def deployment_rows(
    rng: random.Random, environments: list[Environment], times: list[datetime], next_id: int
) -> Iterator[dict[str, Any]]:
    for at in times:
        status = rng.choices(["succeeded", "failed", "rolled_back"], weights=[94, 4, 2])[0]
        yield {
            "id": next_id,
            "environment_id": rng.choice(environments).pk,
            "external_id": f"scale-{next_id}",
            "commit_sha": f"{rng.getrandbits(160):040x}",
            "branch": "main",
            "status": status,
            "deployed_by": "ci",
            "health": "healthy" if status == "succeeded" else "unhealthy",
            "started_at": at,
            "finished_at": at + timedelta(minutes=rng.randint(1, 6)),
            "created_at": at,
        }
        next_id += 1


def change_rows(
    rng: random.Random, services: list[Service], times: list[datetime], next_id: int
) -> Iterator[dict[str, Any]]:
    for at in times:
        service = rng.choice(services)
        yield {
            "id": next_id,
            "service_id": service.pk,
            "kind": rng.choice(["config", "feature_flag", "infrastructure", "other"]),
            "summary": rng.choice(CHANGES).format(service=service.name),
            "at": at,
            "by": "ci",
            "created_at": at,
        }
        next_id += 1


def gate_run_rows(
    rng: random.Random, environments: list[Environment], times: list[datetime], next_id: int
) -> Iterator[dict[str, Any]]:
    """The gate's answers: a reason per rule, most passing; a blocked answer has one or two
    rules that blocked (the near-misses chart counts them by rule)."""
    rules = [kind for kind, _ in GateRule.Kind.choices]
    for at in times:
        environment = rng.choice(environments)
        blocked = rng.random() < BLOCKED
        blocking = set(rng.sample(rules, rng.choice((1, 1, 2)))) if blocked else set()
        yield {
            "id": next_id,
            "service_id": environment.service_id,
            "environment_id": environment.pk,
            "commit_sha": f"{rng.getrandbits(160):040x}",
            "verdict": "block" if blocked else "pass",
            "reasons": [
                {"rule": rule, "outcome": "block" if rule in blocking else "pass"} for rule in rules
            ],
            "created_at": at,
            "updated_at": at,
        }
        next_id += 1


def failing_hour_rows(
    plan: list[PlannedIncident], checks: dict[int, int], before: datetime | None, next_id: int
) -> Iterator[dict[str, Any]]:
    """Hourly roll-ups of each resolved incident's failing check (its service's), from the hour
    it started until it was resolved, FAILING_HOURS at most; none at or after `before` (the
    minute results' own roll-ups start there) and one per check and hour."""
    seen: set[tuple[int, datetime]] = set()
    for inc in plan:
        if inc.resolved_at is None:
            continue
        check = checks[inc.service.pk]
        hour = inc.started_at.replace(minute=0, second=0, microsecond=0)
        for _ in range(FAILING_HOURS):
            if hour > inc.resolved_at or (before is not None and hour >= before):
                break
            if (check, hour) not in seen:
                seen.add((check, hour))
                yield {
                    "id": next_id,
                    "health_check_id": check,
                    "service_id": inc.service.pk,
                    "hour": hour,
                    "samples": 60,
                    "ok_count": 60 - (inc.number % 50 + 5),
                    "maintenance_count": 0,
                }
                next_id += 1
            hour += timedelta(hours=1)
