"""A few years of made-up history for three more services, so the metrics page means something
(its pieces: incidents.demo.history_parts).

Deterministic: one seeded random sequence, laid out backwards from the month of the load, so two
loads on the same day write the same rows. Everything is written with bulk_create (a few dozen
queries in all), which skips the services' one-row bookkeeping on purpose: no history records,
webhooks or messages for events that never happened. Their search documents are built at the
end by the search sweep, which finds incidents written without one (here, in one batch).

Idempotent like the rest of the demo: once the history's services have incidents, a load adds
nothing.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from deployments.models import (
    CheckResultHourly,
    Deployment,
    GateRun,
)
from incidents.demo import history_parts as parts
from incidents.demo import history_words as words
from incidents.insights.services import search_documents_sweep
from incidents.models import ActionItem, Cause, Incident, Severity, TimelineEvent
from incidents.postmortem.services import incident_numbers_next

SEED = 19
MONTHS = 36
SEVERITIES = [Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4]
SEVERITY_WEIGHTS = [5, 20, 45, 30]
# Incidents a month for one service: mostly one or two, now and then a bad month.
INCIDENTS_A_MONTH = (0, 1, 1, 1, 2, 2, 3, 4)
OWNERS = ("demo-editor", "demo-admin", None)


class _History:
    def __init__(self, users: Mapping[str, User], today: date) -> None:
        self.rng = random.Random(SEED)
        self.serial = 0
        self.users = users
        self.today = today
        # The start of the day, not the moment: every load on the same day writes the same
        # history, whatever the hour.
        self.now = datetime.combine(today, time.min, tzinfo=UTC)
        first = today.replace(day=1)
        for _ in range(MONTHS):
            first = (first - timedelta(days=1)).replace(day=1)
        self.start = parts.month_start(first)
        self.span = (self.now - self.start).total_seconds()

    def progress(self, moment: datetime) -> float:
        """0 at the start of the history, 1 now: the team gets faster as it learns."""
        return (moment - self.start).total_seconds() / self.span

    def minutes(self, low: float, high: float, moment: datetime) -> timedelta:
        slower = 1.6 - 0.9 * self.progress(moment)
        return timedelta(minutes=self.rng.uniform(low, high) * slower)

    def deployments(self, services: list[parts.HistoryService]) -> None:
        rows = []
        for s in services:
            week = self.start
            while week < self.now - timedelta(hours=1):
                for _ in range(self.rng.randint(2, 7)):
                    started = week + timedelta(minutes=self.rng.randint(9 * 60, 7 * 24 * 60 - 60))
                    if started >= self.now:
                        continue
                    rows.append(self._deployment(s, started, None))
                week += timedelta(days=7)
        created = Deployment.objects.bulk_create(rows)
        by_env = {s.production.pk: s for s in services}
        for row in sorted(created, key=lambda d: d.started_at):
            by_env[row.environment_id].deployments.append(row)

    def _deployment(
        self, s: parts.HistoryService, started: datetime, undoes: Deployment | None
    ) -> Deployment:
        self.serial += 1  # two releases can start in the same minute
        key = parts.sha(s.service.slug, started.isoformat(), self.serial)
        return Deployment(
            environment=s.production,
            external_id=f"history-{key[:24]}",
            commit_sha=key,
            branch="main",
            status=Deployment.Status.SUCCEEDED,
            deployed_by="ci",
            rollback_of=undoes,
            manifest_digest=parts.sha("manifest", key),
            started_at=started,
            finished_at=started + timedelta(minutes=4),
        )

    def incidents(self, services: list[parts.HistoryService]) -> list[Made]:
        planned = []
        month = self.start
        while month < self.now:
            for s in services:
                for _ in range(self.rng.choice(INCIDENTS_A_MONTH)):
                    started = month + timedelta(minutes=self.rng.randint(0, 28 * 24 * 60))
                    planned.append((started, s))
            month = parts.month_start((month + timedelta(days=32)).date())
        planned = [(at, s) for at, s in planned if at < self.now - timedelta(days=1)]
        planned.sort(key=lambda p: p[0])
        numbers = incident_numbers_next(count=len(planned))
        categories = list(words.FAILURES)
        made = []
        for number, (started, s) in zip(numbers, planned, strict=True):
            severity = self.rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
            category = self.rng.choices(categories, words.CATEGORY_WEIGHTS)[0]
            title, _ = self.rng.choice(words.FAILURES[category])
            trigger = None
            if category == Cause.Category.CHANGE:
                # The release shipped just before: the last deployment before the start.
                at = bisect.bisect_left([d.started_at for d in s.deployments], started)
                if at:
                    trigger = s.deployments[at - 1]
                    started = max(started, trigger.finished_at or trigger.started_at)
            detected = started + self.minutes(1, 45, started)
            mitigated = detected + self.minutes(5, 90, started)
            resolved = mitigated + self.minutes(0, 300, started)
            old = self.now - resolved > timedelta(days=30)
            summary = words.SUMMARY.format(severity=severity.upper(), service=s.service.name)
            incident = Incident(
                number=number,
                service=s.service,
                title=title.format(service=s.service.name),
                severity=severity,
                status=Incident.Status.RESOLVED,
                postmortem_state=(
                    Incident.PostmortemState.PUBLISHED if old else Incident.PostmortemState.DRAFT
                ),
                status_line="Resolved",
                started_at=started,
                detected_at=detected,
                mitigated_at=mitigated,
                resolved_at=resolved,
                summary=summary,
                summary_html=parts.html(summary),
                created_by=self.users["demo-editor"],
            )
            made.append((incident, s, category, trigger))
        Incident.objects.bulk_create([m[0] for m in made])
        return made

    def causes(self, made: list[Made]) -> None:
        causes: list[Cause] = []
        events: list[TimelineEvent] = []
        rollbacks: list[Deployment] = []
        for incident, s, category, trigger in made:
            _, cause_title = self.rng.choice(words.FAILURES[category])
            causes.append(parts.cause(incident, Cause.Kind.PRIMARY, cause_title, category))
            if self.rng.random() < 0.3:
                title, extra = self.rng.choice(words.CONTRIBUTING)
                causes.append(parts.cause(incident, Cause.Kind.CONTRIBUTING, title, extra))
            assert incident.detected_at is not None
            assert incident.mitigated_at is not None
            assert incident.resolved_at is not None
            if trigger is not None:
                # As "Mark as cause" records it: the deployment as the trigger.
                marked = parts.cause(
                    incident, Cause.Kind.TRIGGER, f"Deployment {trigger.commit_sha[:7]}", category
                )
                marked.deployment = trigger
                causes.append(marked)
                rolled = min(
                    incident.detected_at + self.minutes(2, 30, incident.started_at),
                    incident.mitigated_at,
                )
                rollback = self._deployment(s, rolled, trigger)
                rollbacks.append(rollback)
                events.append(
                    parts.event(incident, rolled, TimelineEvent.Kind.ROLLBACK, words.ROLLBACK)
                )
                events[-1].deployment = rollback
            events += [
                parts.event(
                    incident, incident.detected_at, TimelineEvent.Kind.DETECTED, words.DETECTED
                ),
                parts.event(
                    incident,
                    incident.mitigated_at,
                    TimelineEvent.Kind.MITIGATED,
                    words.MITIGATED.format(service=s.service.name),
                ),
                parts.event(
                    incident, incident.resolved_at, TimelineEvent.Kind.STATUS_CHANGE, words.RESOLVED
                ),
            ]
        Cause.objects.bulk_create(causes)
        # Saved before the events that name them, which then take their ids.
        Deployment.objects.bulk_create(rollbacks)
        TimelineEvent.objects.bulk_create(events)

    def action_items(self, made: list[Made]) -> list[ActionItem]:
        items: list[tuple[ActionItem, datetime]] = []
        for incident, _s, _category, _trigger in made:
            assert incident.resolved_at is not None
            written = incident.resolved_at + timedelta(hours=self.rng.randint(2, 72))
            for order, (title, kind) in enumerate(
                self.rng.sample(words.ACTIONS, self.rng.randint(1, 3))
            ):
                owner_name = self.rng.choice(OWNERS)
                owner = self.users[owner_name] if owner_name else None
                due = written.date() + timedelta(days=self.rng.randint(5, 60))
                item = ActionItem(
                    incident=incident,
                    title=title,
                    kind=kind,
                    owner=owner,
                    due_date=due,
                    order=order,
                    horizon=self.rng.choice(["this_week", "before_next_deployment", "long_term"]),
                    priority=self.rng.choice(["p1", "p2", "p2", "p3"]),
                )
                self._progress(item, written)
                items.append((item, written))
        return parts.backdated(ActionItem, items)

    def _progress(self, item: ActionItem, written: datetime) -> None:
        """Most items get done, some late, some not at all: the follow-through charts' story."""
        assert item.due_date is not None
        due_at = datetime.combine(item.due_date, time(17), tzinfo=UTC)
        roll = self.rng.random()
        if item.due_date < self.today:
            if roll < 0.05:
                item.status = ActionItem.Status.WONT_DO
                item.closed_reason = "Superseded by a larger change."
                return
            if roll < 0.75:
                done = due_at + timedelta(days=self.rng.randint(-20, 25))
                item.done_at = min(max(done, written + timedelta(hours=1)), self.now)
            elif roll < 0.85:
                item.status = ActionItem.Status.IN_PROGRESS
                return
            else:
                return  # open and overdue
        elif roll < 0.4:
            item.done_at = written + (self.now - written) * self.rng.random()
        else:
            return
        item.status = ActionItem.Status.DONE
        item.done_by = item.owner

    def gate_runs(self, services: list[parts.HistoryService]) -> int:
        runs: list[tuple[GateRun, datetime]] = []
        kinds = list(words.GATE_MESSAGES)
        for s in services:
            for d in s.deployments:
                # Some deployments were first refused by the gate: the near misses.
                if self.rng.random() >= 0.06:
                    continue
                blocked = self.rng.sample(kinds, 1 if self.rng.random() < 0.8 else 2)
                run = GateRun(
                    service=s.service,
                    environment=s.production,
                    commit_sha=parts.sha("refused", d.commit_sha),
                    verdict=GateRun.Verdict.BLOCK,
                    reasons=[
                        {
                            "rule": kind,
                            "rule_id": None,
                            "outcome": "block",
                            "message": words.GATE_MESSAGES[kind],
                            "found": {},
                        }
                        for kind in blocked
                    ],
                )
                runs.append((run, d.started_at - timedelta(minutes=self.rng.randint(10, 600))))
        return len(parts.backdated(GateRun, runs))

    def check_failures(self, made: list[Made]) -> int:
        rows: dict[tuple[int, datetime], CheckResultHourly] = {}
        for incident, s, category, _trigger in made:
            if category in (Cause.Category.MONITORING, Cause.Category.DATA):
                continue  # these went unnoticed by the checks: that is their story
            assert incident.mitigated_at is not None
            hour = incident.started_at.replace(minute=0, second=0, microsecond=0)
            checks = s.checks if self.rng.random() < 0.4 else s.checks[-1:]
            while hour <= incident.mitigated_at:
                for check in checks:
                    failed = self.rng.randint(5, 60)
                    rows.setdefault(
                        (check.pk, hour),
                        CheckResultHourly(
                            health_check=check,
                            service=s.service,
                            hour=hour,
                            samples=60,
                            ok_count=60 - failed,
                            latency_p50_ms=self.rng.randint(300, 2000),
                            latency_p95_ms=self.rng.randint(2000, 9000),
                        ),
                    )
                hour += timedelta(hours=1)
        CheckResultHourly.objects.bulk_create(rows.values())
        return len(rows)


Made = tuple[Incident, parts.HistoryService, str, Deployment | None]


def history_load(*, users: Mapping[str, User], today: date | None = None) -> dict[str, int]:
    """Write the history unless it is there; how many rows of each kind it wrote."""
    slugs = [slug for slug, _name, _description in words.SERVICES]
    if Incident.objects.filter(service__slug__in=slugs).exists():
        return {}
    history = _History(users, today or timezone.localdate())
    services = parts.services_ensure()
    history.deployments(services)
    made = history.incidents(services)
    history.causes(made)
    items = history.action_items(made)
    # Findable at once, also where no beat runs the sweep (make run without Redis).
    search_documents_sweep(batch_size=len(made) + 1)
    return {
        "history incidents": len(made),
        "history deployments": sum(len(s.deployments) for s in services),
        "history action items": len(items),
        "history gate blocks": history.gate_runs(services),
        "history check hours": history.check_failures(made),
    }
