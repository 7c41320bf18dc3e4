"""The plan of a history (tests/incidents/metrics/history.py writes it): the constants every
size shares, and what each past incident says, derived from its index alone, so the tests can
compute each figure again without the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from deployments.models import GateRule
from incidents.models import Cause, Severity

# Tuesday at 08:00 UTC: the digest hour of people without a zone, not the summary's weekday.
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
HOURS = 24 * 365 * 5
# Prime and coprime with HOURS: index -> (index * STEP) % HOURS gives every incident its own hour.
STEP = 7919
SERVICES = 4
PEOPLE = 6
THEMES = (
    "Queue backlog on the workers",
    "Checkout answers slowly",
    "Certificate expired at the edge",
    "Search returns stale results",
    "Login fails for some users",
)
CURRENT_TITLE = "Queue backlog on the workers again"
CATEGORIES = Cause.Category.values
RULES = GateRule.Kind.values
# What the weekly summary lists, the same few at any size.
STUCK_IN_REVIEW = 3
SEVERE_UNPUBLISHED = 2
BATCH = 2000
# Past incidents are numbered from here on, after the few that do not grow.
PAST_NUMBERS = 100


@dataclass(frozen=True)
class Past:
    """One past incident as planned: what each of its rows says derives from `index`."""

    index: int
    service: int  # position in History.services

    @property
    def started_at(self) -> datetime:
        return NOW - timedelta(hours=3 + (self.index * STEP) % HOURS)

    @property
    def severity(self) -> str:
        return Severity.values[(self.index // SERVICES) % len(Severity.values)]

    @property
    def detect_minutes(self) -> int:
        return 1 + self.index % 7

    @property
    def category(self) -> str:
        return CATEGORIES[self.index % len(CATEGORIES)]

    @property
    def confirmed(self) -> bool:
        """Its newest deployment is its cause, kept by a person ("Mark as cause")."""
        return self.index % 3 == 0

    @property
    def rolled_back(self) -> bool:
        return self.index % 6 == 0

    @property
    def blocked_rules(self) -> list[str]:
        """The rules of the gate answer that blocked before it (none on odd indexes)."""
        if self.index % 2:
            return []
        first = RULES[self.index % len(RULES)]
        if self.index % 10:
            return [first]
        return [first, RULES[(self.index + 1) % len(RULES)]]

    @property
    def failed_samples(self) -> int:
        return 1 + self.index % 20

    @property
    def blocks_deployments(self) -> bool:
        """Its open item blocks deployments until done."""
        return self.index % 25 == 0

    @property
    def done_on_time(self) -> bool:
        return self.index % 2 == 0

    @property
    def done_at(self) -> datetime:
        return min(self.started_at + timedelta(days=3 if self.done_on_time else 10), NOW)

    @property
    def due(self) -> date:
        """The due date of its done item (and of its open one, a week later)."""
        return self.started_at.date() + timedelta(days=7)
