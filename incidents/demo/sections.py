"""Turns the demo's words (content.py) into the rows of every post-mortem section."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.auth.models import User

from deployments.models import Deployment
from incidents.demo import content
from incidents.models import (
    ActionItem,
    Cause,
    FinalNote,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
)
from incidents.models.base import MarkdownModel
from incidents.postmortem.services import timeline_event_add

M = TypeVar("M", bound=MarkdownModel)

# Relations are checked by the database; clean_fields skips them so validation costs no query.
_RELATIONS = ["incident", "parent", "owner", "done_by", "deployment", "priority"]


def _ready(row: M) -> M:
    """Store the rendered Markdown and validate lengths and choices, which SQLite would not."""
    row.render_markdown()
    row.clean_fields(exclude=_RELATIONS)
    return row


def _timeline(incident: Incident, deployments: Mapping[str, Deployment], author: Any) -> None:
    for occurred_at, kind, source, deployment, text in content.TIMELINE:
        timeline_event_add(
            incident=incident,
            occurred_at=occurred_at,
            text=text,
            kind=kind,
            source=source,
            created_by=author,
            deployment=deployments[deployment] if deployment else None,
        )


def _status_items(incident: Incident) -> None:
    StatusItem.objects.bulk_create(
        _ready(
            StatusItem(
                incident=incident,
                kind=kind,
                label=label,
                detail=detail,
                ok=ok,
                pre_existing=pre_existing,
                order=order,
            )
        )
        for order, (kind, label, detail, ok, pre_existing) in enumerate(content.STATUS_ITEMS)
    )


def _causes(incident: Incident, deployments: Mapping[str, Deployment]) -> None:
    for order, (kind, title, detail, deployment, children) in enumerate(content.CAUSES):
        parent = _ready(
            Cause(
                incident=incident,
                kind=kind,
                title=title,
                detail=detail,
                deployment=deployments[deployment] if deployment else None,
                order=order,
            )
        )
        parent.save()
        Cause.objects.bulk_create(
            _ready(
                Cause(
                    incident=incident,
                    parent=parent,
                    kind=kind,
                    title=child_title,
                    detail=child_detail,
                    order=child_order,
                )
            )
            for child_order, (child_title, child_detail) in enumerate(children)
        )


def _lessons(incident: Incident) -> None:
    Lesson.objects.bulk_create(
        _ready(Lesson(incident=incident, kind=kind, text=text, order=order))
        for order, (kind, text) in enumerate(content.LESSONS)
    )


def _action_item(
    incident: Incident,
    spec: Mapping[str, Any],
    users: Mapping[str, User],
    *,
    order: int,
    parent: ActionItem | None = None,
) -> ActionItem:
    fields = {k: v for k, v in spec.items() if k not in {"owner", "due", "done_at", "children"}}
    if parent is not None:
        fields.setdefault("horizon", parent.horizon)
        fields.setdefault("kind", parent.kind)
        fields.setdefault("priority", parent.priority)
    owner = users[spec["owner"]] if "owner" in spec else getattr(parent, "owner", None)
    due = (
        content.INCIDENT_DAY + timedelta(days=spec["due"])
        if "due" in spec
        else getattr(parent, "due_date", None)
    )
    done_at = spec.get("done_at")
    return _ready(
        ActionItem(
            incident=incident,
            parent=parent,
            owner=owner,
            due_date=due,
            status=ActionItem.Status.DONE if done_at else ActionItem.Status.OPEN,
            done_at=done_at,
            done_by=owner if done_at else None,
            order=order,
            **fields,
        )
    )


def _action_items(incident: Incident, users: Mapping[str, User]) -> None:
    for order, spec in enumerate(content.ACTION_ITEMS):
        parent = _action_item(incident, spec, users, order=order)
        parent.save()
        ActionItem.objects.bulk_create(
            _action_item(incident, child, users, order=child_order, parent=parent)
            for child_order, child in enumerate(spec.get("children", ()))
        )


def _success_criteria(incident: Incident) -> None:
    SuccessCriterion.objects.bulk_create(
        _ready(
            SuccessCriterion(
                incident=incident,
                group=group,
                text=text,
                done=done_at is not None,
                done_at=done_at,
                order=order,
            )
        )
        for order, (group, text, done_at) in enumerate(content.SUCCESS_CRITERIA)
    )


def _priorities(incident: Incident) -> None:
    for order, (title, urgent, detail, options) in enumerate(content.PRIORITIES, start=1):
        priority = _ready(
            PathPriority(incident=incident, title=title, urgent=urgent, detail=detail, order=order)
        )
        priority.save()
        SolutionOption.objects.bulk_create(
            _ready(
                SolutionOption(
                    priority=priority,
                    label=label,
                    title=option_title,
                    estimate=estimate,
                    detail=option_detail,
                    order=option_order,
                )
            )
            for option_order, (label, option_title, estimate, option_detail) in enumerate(options)
        )


def _final_notes(incident: Incident) -> None:
    FinalNote.objects.bulk_create(
        _ready(FinalNote(incident=incident, kind=kind, text=text, order=order))
        for order, (kind, text) in enumerate(content.FINAL_NOTES)
    )


def sections_create(
    *,
    incident: Incident,
    deployments: Mapping[str, Deployment],
    users: Mapping[str, User],
) -> None:
    """Write every section of the demo post-mortem under a freshly created incident."""
    _timeline(incident, deployments, users[content.EDITOR])
    _status_items(incident)
    _causes(incident, deployments)
    _lessons(incident)
    _action_items(incident, users)
    _success_criteria(incident)
    _priorities(incident)
    _final_notes(incident)
