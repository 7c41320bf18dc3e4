"""Components and their status: what the checks propose, and setting it.

A component's status is said by people: an editor sets it (or accepts what its checks
propose), or a published status page update sets it for the components it names. A component
that follows its checks takes their proposal by itself whenever a service's health changes
(the "health_changed" event, subscribed from IncidentsConfig.ready()). Every change is a
compare-and-set on the status that was read, so two editors never overwrite each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from deployments.models import HealthChange, HealthCheck
from deployments.selectors import checks_in_maintenance
from incidents.models import (
    Audience,
    Communication,
    CommunicationComponent,
    Component,
    ComponentStatus,
    ComponentStatusChange,
)
from incidents.statuspage.page import public_documents_mark_stale
from incidents.statuspage.selectors import check_states, component_check_ids


class ComponentStatusConflict(Exception):
    """The component's status (or its checks' proposal) changed since the editor read it."""


def _status_checked(status: str) -> str:
    if status not in ComponentStatus.values:
        raise ValidationError(f"Unknown component status {status!r}.", code="invalid")
    return status


def _proposal(check_ids: list[int], states: dict[int, Any], resting: set[int]) -> str | None:
    checked = [states[pk] for pk in check_ids if pk in states and states[pk]["at"] is not None]
    if not checked:
        return None
    failing = [s for s in checked if not s["ok"] and not s["maintenance"]]
    if failing:
        if len(failing) == len(checked):
            return ComponentStatus.MAJOR_OUTAGE
        return ComponentStatus.PARTIAL_OUTAGE
    if any(s["maintenance"] or s["id"] in resting for s in checked):
        return ComponentStatus.UNDER_MAINTENANCE
    return ComponentStatus.OPERATIONAL


def component_status_proposals(
    *, component_ids: list[int], now: datetime | None = None
) -> dict[int, str | None]:
    """What each component's checks propose, by component id (None: no check has answered).

    A failing check proposes a partial outage, all of them failing a major one; with none
    failing, a check inside a maintenance window (or whose last failure was excused by one)
    proposes under maintenance; all passing proposes operational. Three queries, however many
    components.
    """
    now = now or timezone.now()
    watched = component_check_ids(component_ids=component_ids)
    states = check_states(check_ids=sorted({pk for ids in watched.values() for pk in ids}))
    checks = [
        HealthCheck(pk=s["id"], service_id=s["service_id"], environment_id=s["environment_id"])
        for s in states.values()
    ]
    resting = checks_in_maintenance(checks=checks, at=now)
    return {pk: _proposal(ids, states, resting) for pk, ids in watched.items()}


def component_status_propose(*, component: Component, now: datetime | None = None) -> str | None:
    """What the checks `component` watches propose for its status (see
    component_status_proposals); shown to editors, who accept or override it."""
    return component_status_proposals(component_ids=[component.pk], now=now)[component.pk]


def component_status_history_record(*, changes: dict[int, str], at: datetime) -> None:
    """Write down that these components (by id) have these statuses from `at`: the history the
    uptime bars read. Every service that sets a component's status calls it in its
    transaction."""
    ComponentStatusChange.objects.bulk_create(
        ComponentStatusChange(component_id=pk, status=status, at=at)
        for pk, status in changes.items()
    )


def _set(
    component_id: int, *, status: str, expected: str | None, user: User | None, at: datetime
) -> bool:
    rows = Component.objects.filter(pk=component_id)
    if expected is not None:
        rows = rows.filter(status=expected)
    # The kept public pages are marked stale by the caller, last in its transaction (see
    # incidents.statuspage.page.public_documents_mark_stale).
    updated = rows.update(status=status, status_changed_at=at, status_changed_by=user)
    if updated:
        component_status_history_record(changes={component_id: status}, at=at)
    return updated == 1


@transaction.atomic
def component_set_status(
    *,
    component: Component,
    status: str,
    user: User | None,
    expected: str | None = None,
    at: datetime | None = None,
) -> Component:
    """Set the component's status. `expected` is the status the editor saw: when it changed
    since, nothing is written and ComponentStatusConflict is raised."""
    _status_checked(status)
    at = at or timezone.now()
    if not _set(component.pk, status=status, expected=expected, user=user, at=at):
        component.refresh_from_db()
        raise ComponentStatusConflict(
            f"{component.name} is {component.get_status_display().lower()} now; "
            "someone changed it since you looked."
        )
    public_documents_mark_stale()
    component.refresh_from_db()
    return component


@transaction.atomic
def component_proposal_accept(
    *, component: Component, proposed: str, expected: str, user: User | None
) -> Component:
    """Take what the checks propose, as the editor saw it (`proposed`, over `expected`)."""
    if component_status_propose(component=component) != proposed:
        raise ComponentStatusConflict("The checks propose something else now; look again.")
    return component_set_status(component=component, status=proposed, expected=expected, user=user)


def components_follow_checks(*, component_ids: list[int] | None = None) -> int:
    """Give every component that follows its checks (of `component_ids`, or all) the status
    they propose; returns how many changed. Runs in the caller's transaction."""
    following = Component.objects.filter(follows_checks=True)
    if component_ids is not None:
        following = following.filter(pk__in=component_ids)
    current = dict(following.values_list("pk", "status"))
    if not current:
        return 0
    now = timezone.now()
    taken: dict[int, str] = {}
    for pk, proposal in component_status_proposals(component_ids=list(current), now=now).items():
        if proposal is None or proposal == current[pk]:
            continue
        # Compare-and-set on the status read and on still following: an editor who just took
        # the component over is not overwritten.
        if Component.objects.filter(pk=pk, status=current[pk], follows_checks=True).update(
            status=proposal, status_changed_at=now, status_changed_by=None
        ):
            taken[pk] = proposal
    if taken:
        component_status_history_record(changes=taken, at=now)
        public_documents_mark_stale()
    return len(taken)


def components_follow_health(*, change: HealthChange) -> None:
    """The "health_changed" handler: the components watching the changed service's checks and
    following them take what the checks propose now."""
    ids = list(
        Component.objects.filter(
            follows_checks=True, health_checks__service_id=change.service_id
        ).values_list("pk", flat=True)
    )
    if ids:
        components_follow_checks(component_ids=sorted(set(ids)))


@transaction.atomic
def communication_components_set(*, communication: Communication, statuses: dict[int, str]) -> None:
    """Name the components a status page update affects and the status it sets for each (by
    component id); replaces what the draft named before. Only drafts and approved ones."""
    if communication.audience != Audience.STATUS_PAGE:
        raise ValidationError("Only a status page update names components.")
    if communication.status == Communication.Status.SENT:
        raise ValidationError("A published update is not changed; correct it instead.")
    for status in statuses.values():
        _status_checked(status)
    known = set(Component.objects.filter(pk__in=statuses).values_list("pk", flat=True))
    CommunicationComponent.objects.filter(communication=communication).delete()
    CommunicationComponent.objects.bulk_create(
        CommunicationComponent(communication=communication, component_id=pk, status=status)
        for pk, status in statuses.items()
        if pk in known
    )


def components_set_by_update(
    *, communication: Communication, user: User | None, at: datetime
) -> int:
    """Publishing a status page update sets the status of the components it names (called by
    communication_send, in its transaction). The update says it, whatever stood: no
    compare-and-set on the previous status, and a component following its checks keeps
    following them at their next change. The caller marks the kept public pages stale."""
    changed = 0
    for pk, status in CommunicationComponent.objects.filter(
        communication=communication
    ).values_list("component_id", "status"):
        changed += _set(pk, status=status, expected=None, user=user, at=at)
    return changed
