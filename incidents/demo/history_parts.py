"""The pieces the demo history is made of (incidents.demo.history): its services with their
checks, and the rows it writes in bulk, with their creation times as the history says."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from typing import TypeVar

from core.rendering import render
from deployments.models import Deployment, Environment, GateRun, HealthCheck, Service
from incidents.demo import history_words as words
from incidents.models import ActionItem, Cause, Incident, TimelineEvent


@cache
def html(text: str) -> str:
    return render(text)


def sha(*parts: object) -> str:
    return hashlib.sha1(" ".join(map(str, parts)).encode()).hexdigest()


@dataclass
class HistoryService:
    service: Service
    production: Environment
    checks: list[HealthCheck]
    deployments: list[Deployment] = field(default_factory=list)


def services_ensure() -> list[HistoryService]:
    made = []
    for slug, name, description in words.SERVICES:
        service, _ = Service.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "public_url": f"https://{slug}.example.com",
            },
        )
        production, _ = Environment.objects.get_or_create(
            service=service,
            name="production",
            defaults={"kind": Environment.Kind.PRODUCTION, "url": f"https://{slug}.example.com"},
        )
        checks = [
            HealthCheck.objects.get_or_create(
                service=service,
                name=check,
                defaults={
                    "environment": production,
                    "url": f"https://{slug}.example.com{path}",
                    # Made-up hosts: the prober must never call them.
                    "enabled": False,
                    "order": order,
                },
            )[0]
            for order, (check, path) in enumerate(words.CHECKS)
        ]
        made.append(HistoryService(service, production, checks))
    return made


def month_start(day: date) -> datetime:
    return datetime.combine(day.replace(day=1), time.min, tzinfo=UTC)


R = TypeVar("R", ActionItem, GateRun)


def backdated(model: type[R], rows: list[tuple[R, datetime]]) -> list[R]:
    """Save the rows, then give each its creation time: auto_now_add stamps them with now on
    the way in, and bulk_update writes what the history says instead."""
    created = model._default_manager.bulk_create([row for row, _ in rows])
    for row, at in zip(created, (at for _, at in rows), strict=True):
        row.created_at = at
    model._default_manager.bulk_update(created, ["created_at"], batch_size=500)
    return created


def cause(incident: Incident, kind: str, title: str, category: str) -> Cause:
    return Cause(incident=incident, kind=kind, title=title, category=category, detail="")


def event(incident: Incident, at: datetime, kind: str, text: str) -> TimelineEvent:
    return TimelineEvent(
        incident=incident,
        occurred_at=at,
        kind=kind,
        source=TimelineEvent.Source.MANUAL,
        text=text,
        text_html=html(text),
    )
