"""Round trips: an incident exported and imported again is the same incident
(test_roundtrip_documents.py has documents imported and exported again)."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.documents import services
from incidents.documents.exports import export_incident
from incidents.models import (
    ActionItem,
    Audience,
    Cause,
    Communication,
    FinalNote,
    Horizon,
    Incident,
    Lesson,
    PathPriority,
    SolutionOption,
    StatusItem,
    SuccessCriterion,
    TimelineEvent,
)
from incidents.postmortem import services as postmortem_services
from tests.factories import ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

DOCUMENTS = Path(__file__).parent / "documents"
LAYOUTS = sorted(p.name for p in DOCUMENTS.glob("*.md"))


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


def _tree(rows, fields) -> list[dict]:
    children = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.order, r.pk)):
        children[row.parent_id].append(row)

    def node(row) -> dict:
        values = {name: _value(getattr(row, name)) for name in fields}
        return {**values, "children": [node(c) for c in children[row.pk]]}

    return [node(row) for row in children[None]]


def _value(value):
    return value.get_username() if hasattr(value, "get_username") else value


def _by(rows, key, fields) -> dict:
    grouped = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.order, r.pk)):
        grouped[getattr(row, key)].append(tuple(_value(getattr(row, f)) for f in fields))
    return dict(grouped)


def structure(incident: Incident) -> dict:
    """Every structured field of an incident and its parts, without ids and row timestamps."""
    incident = Incident.objects.get(pk=incident.pk)
    causes = _tree(incident.causes.all(), ("kind", "category", "title", "detail"))
    items = _tree(
        incident.action_items.select_related("owner"),
        ("title", "detail", "status", "closed_reason", "priority", "kind", "horizon", "owner",
         "due_date", "blocks_deployments"),
    )  # fmt: skip
    return {
        "incident": {
            name: getattr(incident, name)
            for name in (
                "title",
                "service_id",
                "severity",
                "status",
                "postmortem_state",
                "status_line",
                "started_at",
                "detected_at",
                "mitigated_at",
                "resolved_at",
                "summary",
                "impact",
                "resolution",
                "next_step",
            )
        },
        "authors": sorted(a.username for a in incident.authors.all()),
        "timeline": [
            (e.occurred_at, e.kind, e.text)
            for e in incident.timeline_events.order_by("occurred_at", "id")
        ],
        "status": _by(
            incident.status_items.all(),
            "kind",
            ("label", "detail", "ok", "warning", "pre_existing"),
        ),
        "causes": {kind: [c for c in causes if c["kind"] == kind] for kind in Cause.Kind.values},
        "lessons": _by(incident.lessons.all(), "kind", ("text",)),
        "actions": {h: [i for i in items if i["horizon"] == h] for h in Horizon.values},
        "criteria": _by(incident.success_criteria.all(), "group", ("text", "done")),
        "priorities": [
            (
                p.title,
                p.urgent,
                p.detail,
                [
                    (o.label, o.title, o.estimate, o.detail, o.chosen)
                    for o in p.options.order_by("order", "id")
                ],
            )
            for p in incident.priorities.order_by("order", "id")
        ],
        "communications": [
            (c.audience, c.phase, c.status, c.subject, c.body)
            for c in incident.communications.order_by("created_at", "id")
        ],
        "notes": _by(incident.final_notes.all(), "kind", ("text",)),
    }


def _save(row, **kwargs):
    for name, value in kwargs.items():
        setattr(row, name, value)
    return postmortem_services.part_save(row=row, user=None)


@pytest.fixture
def rich_incident() -> Incident:
    """An incident with every section filled, nesting three deep, and texts that look like
    structure (headings, field lines, option lines, fences, quotes)."""
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    service = ServiceFactory(slug="payments", name="Payments")
    incident = postmortem_services.incident_create(
        service=service,
        title="Payments API down · card charges failed",
        started_at=at(2, 6, 2, 30),
        severity="sev2",
        created_by=alice,
        status=Incident.Status.RESOLVED,
        resolved_at=at(2, 7, 45),
        detected_at=at(2, 6, 4),
        mitigated_at=at(2, 7, 10),
        postmortem_state=Incident.PostmortemState.IN_REVIEW,
        status_line="Resolved: charges flow again",
        summary=(
            "Charges failed for **all** cards.\n\n### Details\n\nThe gateway key expired.\n\n"
            "**Status:** this line only looks like a field\n\n```\n# not a heading\n```"
        ),
        impact="| Metric | Value |\n|---|---|\n| Failed charges | 1,204 |",
        resolution="Rotated the key.\n\nThen replayed the failed charges.",
        next_step="Automate key rotation.\n\nETA: two weeks",
    )
    incident.authors.add(bob)
    kind: str  # each section below has its own Kind
    for when, kind, text in (
        (at(2, 6, 1, 15), TimelineEvent.Kind.DEPLOYMENT, "Release 4.2 shipped"),
        (
            at(2, 6, 4),
            TimelineEvent.Kind.DETECTED,
            "Alert: charge errors over 50%\n- card\n- wallet",
        ),
        (at(2, 6, 30), TimelineEvent.Kind.NOTE, "Note · the word note is text here"),
        (at(3, 0, 10), TimelineEvent.Kind.RESOLVED, "Replay finished the next day"),
    ):
        postmortem_services.timeline_event_add(
            incident=incident, occurred_at=when, kind=kind, text=text
        )
    for kind, label, detail, ok, warning, pre in (
        (StatusItem.Kind.CURRENT, "Charges", "Succeeding", True, False, False),
        (StatusItem.Kind.CURRENT, "Refunds", "Still queued", False, False, False),
        (StatusItem.Kind.CURRENT, "Payouts", "", None, False, False),
        (StatusItem.Kind.CURRENT, "Webhooks", "Delivered late", None, True, False),
        (StatusItem.Kind.WORKING, "Checkout", "Line one\nline two", None, False, False),
        (
            StatusItem.Kind.KNOWN_ISSUE,
            "Slow reports",
            "Older than this incident",
            None,
            False,
            True,
        ),
        (StatusItem.Kind.KNOWN_ISSUE, "Retry storm", "", None, True, False),
    ):
        _save(
            StatusItem(incident=incident),
            kind=kind,
            label=label,
            detail=detail,
            ok=ok,
            warning=warning,
            pre_existing=pre,
        )
    primary = _save(
        Cause(incident=incident),
        kind=Cause.Kind.PRIMARY,
        category=Cause.Category.CONFIGURATION,
        title="The gateway key expired",
        detail="It was issued for a year:\n\n- nobody tracked it\n- no alert\n\n> quoted\n\n```\ncode\n```",
    )
    factor = _save(Cause(incident=incident), kind=Cause.Kind.CONTRIBUTING, title="No key inventory")
    middle = _save(
        Cause(incident=incident),
        kind=Cause.Kind.CONTRIBUTING,
        title="Keys live in env files",
        category=Cause.Category.PROCESS,
        parent=factor,
    )
    _save(
        Cause(incident=incident),
        kind=Cause.Kind.CONTRIBUTING,
        title="Three levels deep",
        parent=middle,
        detail="Still kept",
    )
    _save(
        Cause(incident=incident), kind=Cause.Kind.CONTRIBUTING, title="Second child", parent=factor
    )
    # A title that ends in what looks like a category aside keeps it, and a real one follows.
    _save(
        Cause(incident=incident), kind=Cause.Kind.TRIGGER, category=Cause.Category.DEPENDENCY,
        title="Midnight UTC on the expiry date (category: code)",
    )  # fmt: skip
    _save(Cause(incident=incident), kind=Cause.Kind.ASSUMPTION, title="Keys never expire")
    assert primary.pk
    for kind, text in (
        (Lesson.Kind.WENT_WRONG, "No expiry alerts"),
        (Lesson.Kind.WENT_WRONG, "The runbook was stale:\n\n1. wrong host\n2. wrong key name"),
        (Lesson.Kind.WENT_RIGHT, "Replay worked first time"),
        (Lesson.Kind.LUCKY, "It happened at night"),
    ):
        _save(Lesson(incident=incident), kind=kind, text=text)
    roll = _save(
        ActionItem(incident=incident), title="Rotate the key", horizon=Horizon.IMMEDIATE,
        priority="p1", kind="mitigate", owner=alice, due_date=date(2026, 1, 2),
        status=ActionItem.Status.DONE, done_at=at(2, 7, 10),
    )  # fmt: skip
    parent = _save(
        ActionItem(incident=incident), title="Inventory every key @alice owns", horizon=Horizon.TODAY,
        priority="p1", kind="process", owner=bob, due_date=date(2026, 1, 3),
        detail="See the vault export.\n\n> a quote inside\n\n```\nvault list\n```",
    )  # fmt: skip
    _save(ActionItem(incident=incident), title="List keys", parent=parent, horizon=Horizon.TODAY,
          status=ActionItem.Status.DONE, done_at=at(2, 8, 0), priority="p1", kind="process")  # fmt: skip
    step = _save(ActionItem(incident=incident), title="Record owners", parent=parent,
                 horizon=Horizon.TODAY, status=ActionItem.Status.IN_PROGRESS, kind="process")  # fmt: skip
    _save(ActionItem(incident=incident), title="Ask legal", parent=step, horizon=Horizon.LONG_TERM,
          status=ActionItem.Status.WONT_DO, priority="p3", kind="process",
          closed_reason="Legal said no · twice, @alice agreed: Won't do: it")  # fmt: skip
    _save(ActionItem(incident=incident), title="Rewrite the vault", horizon=Horizon.LONG_TERM,
          status=ActionItem.Status.WONT_DO, closed_reason="Too costly",
          detail="Won't do: this line is the detail's own.\n\nSecond paragraph.")  # fmt: skip
    _save(
        ActionItem(incident=incident),
        title="Alert 30 days before expiry · with a dot",
        horizon=Horizon.THIS_WEEK,
        kind="detect",
        blocks_deployments=True,
        owner=alice,
    )
    _save(
        ActionItem(incident=incident),
        title="Review the runbook (due 2026-02-01 per audit)",
        horizon=Horizon.BEFORE_NEXT_DEPLOYMENT,
        priority="p3",
    )
    _save(
        ActionItem(incident=incident), title="Buy an HSM", horizon=Horizon.LONG_TERM, kind="prevent"
    )
    assert roll.pk
    for group, text, done in (
        (Horizon.BEFORE_NEXT_DEPLOYMENT, "Every key has an owner", True),
        (Horizon.BEFORE_NEXT_DEPLOYMENT, "Expiry alerts fire in staging", False),
        (Horizon.LONG_TERM, "Keys rotate automatically", False),
    ):
        criterion = _save(SuccessCriterion(incident=incident), group=group, text=text)
        if done:
            postmortem_services.criterion_set_done(criterion=criterion, done=True, user=None)
    urgent = _save(
        PathPriority(incident=incident), title="Rotate safely", urgent=True,
        detail="Before anything else.\n\n**A) this line only looks like an option**",
    )  # fmt: skip
    _save(
        SolutionOption(priority=urgent),
        label="A",
        title="Manual rotation",
        estimate="1 hour",
        detail="By hand.",
    )
    _save(SolutionOption(priority=urgent), label="B", title="Use v2 (beta)", chosen=True,
          detail="```bash\nrotate --all\n```")  # fmt: skip
    _save(PathPriority(incident=incident), title="Inventory", detail="1. list\n2. label")
    for audience, phase, status, subject, body in (
        (
            Audience.USER_EMAIL,
            "",
            Communication.Status.DRAFT,
            "Card payments failed",
            "Hello,\n\n```\nnot the end\n```\n\nBye",
        ),
        (
            Audience.STATUS_PAGE,
            "resolved",
            Communication.Status.SENT,
            "Payments restored",
            "All good.",
        ),
        (
            Audience.INTERNAL,
            "",
            Communication.Status.APPROVED,
            "Internal: key expiry",
            "Details inside.",
        ),
        (Audience.EXECUTIVE, "", Communication.Status.DRAFT, "One-page summary", ""),
    ):
        message = Communication(
            incident=incident, audience=audience, phase=phase, status=status, subject=subject,
            body=body, approved_at=at(2, 9, 0) if status == "approved" else None,
        )  # fmt: skip
        message.render_markdown()
        message.save()
    for kind, text in (
        (FinalNote.Kind.ACCOMPLISHED, "Replayed every charge"),
        (FinalNote.Kind.LEARNED, "Track expiry dates"),
        (FinalNote.Kind.MOVING_FORWARD, "Automate the boring parts"),
        (FinalNote.Kind.OTHER, "## Appendix\n\n- graphs\n- logs\n\n**Status:** kept as written"),
        (FinalNote.Kind.OTHER, "A second note"),
    ):
        _save(FinalNote(incident=incident), kind=kind, text=text)
    return incident


def test_an_exported_incident_imports_back_to_the_same_structure(rich_incident):
    markdown = export_incident(rich_incident.reference, "md").text()

    # The same service and start as the original: a copy on purpose.
    result = services.postmortem_import(data=markdown, user=None, force=True)

    assert result.incident.pk != rich_incident.pk
    assert result.report.unrecognized == []
    assert result.report.unknown_owners == []
    assert structure(result.incident) == structure(rich_incident)


def test_export_import_export_is_a_fixed_point(rich_incident):
    first = export_incident(rich_incident.reference, "md").text()
    copy = services.postmortem_import(data=first, user=None, force=True).incident

    second = export_incident(copy.reference, "md").text()

    assert second.replace(copy.reference, rich_incident.reference) == first


def test_the_demo_incident_survives_a_round_trip():
    call_command("load_demo", stdout=io.StringIO())
    demo = Incident.objects.get(number=1)
    markdown = export_incident(demo.reference, "md").text()

    copy = services.postmortem_import(data=markdown, user=None, force=True).incident

    assert structure(copy) == structure(demo)
