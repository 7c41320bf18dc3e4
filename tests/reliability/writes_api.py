"""The REST API's writes of incidents: the incidents, their sections' rows, action items,
communications and their templates, webhooks, imports and attachments."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.reliability.writes import API, World, Write, rows, version

# A row of each section as the API writes it, and one field to change.
ROW_BODIES: dict[str, dict] = {
    "timeline-events": {
        "occurred_at": "2026-01-02T06:03:00Z",
        "kind": "detected",
        "text": "Paged the on-call.",
    },
    "causes": {"title": "A missing build step"},
    "lessons": {"kind": "went_wrong", "text": "The build passed without its worker."},
    "action-items": {"title": "Check the build output"},
    "success-criteria": {"text": "Every deploy carries its worker."},
}
ROW_CHANGES: dict[str, dict] = {
    "timeline-events": {"text": "Paged the on-call again."},
    "causes": {"title": "A build step that was skipped"},
    "lessons": {"text": "The build passed though its worker was missing."},
    "action-items": {"title": "Check the build output for the worker"},
    "success-criteria": {"text": "Every deploy carries its worker file."},
}
ROUTE_NAMES = {
    "timeline-events": "timeline-event",
    "causes": "cause",
    "lessons": "lesson",
    "action-items": "action-item",
    "success-criteria": "success-criterion",
}


def _row_writes(kind: str) -> list[Write]:
    """Adding, replacing, changing, deleting and (but for the timeline) moving one row."""
    name = f"incident-{ROUTE_NAMES[kind]}"

    def detail(use: str) -> dict:
        return {
            "path": lambda w: f"{rows(w, kind)}/{w.of(f'{kind}:{use}').pk}",
            "headers": lambda w: version(w.of(f"{kind}:{use}")),
        }

    writes = [
        Write(f"{name}-list", "POST", lambda w: rows(w, kind), lambda w: ROW_BODIES[kind]),
        Write(f"{name}-detail", "PUT", body=lambda w: ROW_BODIES[kind], **detail("put")),
        Write(f"{name}-detail", "PATCH", body=lambda w: ROW_CHANGES[kind], **detail("patch")),
        Write(f"{name}-detail", "DELETE", **detail("delete")),
    ]
    if kind != "timeline-events":
        writes.append(
            Write(
                f"{name}-move",
                "POST",
                lambda w: f"{rows(w, kind)}/{w.of(f'{kind}:move').pk}/move",
                lambda w: {"offset": -1},
            )
        )
    return writes


def _incident(w: World, use: str) -> str:
    return f"{API}/incidents/{w.of(use).reference}"


def _message(w: World, use: str) -> str:
    return f"{rows(w, 'communications')}/{w.of(f'message:{use}').pk}"


def imported(what: str, day: int) -> str:
    """A short post-mortem of `what` going wrong on January `day`: each import takes its own,
    as one that looks imported already (the same text, or the same service and start) is asked
    about again (409) rather than imported twice."""
    return f"""# {what} timed out

**Service:** moodmash
**Incident Date:** 2026-01-{day:02} 06:02 - 06:20 UTC

## Timeline

- 2026-01-{day:02} 06:02 {what} requests start timing out
- 2026-01-{day:02} 06:20 Rolled back; {what.lower()} recovers
"""


INCIDENTS: list[Write] = [
    Write(
        "incident-list",
        "POST",
        lambda w: f"{API}/incidents",
        lambda w: {"title": "Queue", "service": "moodmash", "started_at": "2026-01-02T06:02:00Z"},
    ),
    Write(
        "incident-detail",
        "PUT",
        lambda w: _incident(w, "incident:put"),
        lambda w: {
            "title": "Queue stalled",
            "service": "moodmash",
            "started_at": "2026-01-02T06:02:00Z",
        },
        headers=lambda w: version(w.of("incident:put")),
    ),
    Write(
        "incident-detail",
        "PATCH",
        lambda w: f"{API}/incidents/{w.ref}",
        lambda w: {"summary": "Writes stalled."},
        headers=lambda w: version(w.incident),
    ),
    Write("incident-detail", "DELETE", lambda w: _incident(w, "incident:delete")),
    Write("incident-resolve", "POST", lambda w: f"{API}/incidents/{w.open[0].reference}/resolve"),
    Write(
        "incident-postmortem-state",
        "POST",
        lambda w: f"{API}/incidents/{w.ref}/postmortem-state",
        lambda w: {"state": "in_review"},
    ),
    Write("incident-publish", "POST", lambda w: f"{API}/incidents/{w.ref}/publish"),
    Write(
        "incident-unpublish", "POST", lambda w: f"{_incident(w, 'incident:published')}/unpublish"
    ),
    Write(
        "incident-duplicate-of",
        "POST",
        lambda w: f"{_incident(w, 'incident:duplicate')}/duplicate-of",
        lambda w: {"duplicate_of": w.ref},
    ),
    Write("incident-draft", "POST", lambda w: f"{API}/incidents/{w.ref}/draft"),
    Write(
        "incident-draft-keep",
        "POST",
        lambda w: f"{_incident(w, 'draft:keep')}/draft/keep",
        lambda w: {"all": True},
    ),
    Write(
        "incident-draft-discard",
        "POST",
        lambda w: f"{_incident(w, 'draft:discard')}/draft/discard",
        lambda w: {"all": True},
    ),
    Write(
        "incident-import",
        "POST",
        lambda w: f"{API}/incidents/import",
        lambda w: {"markdown": imported("Checkout", 3), "service": "moodmash"},
    ),
    Write(
        "incident-attachments",
        "POST",
        lambda w: f"{API}/incidents/{w.ref}/attachments",
        lambda w: {"file": SimpleUploadedFile("worker.log", b"worker exited 1\n")},
        multipart=True,
    ),
]

ROWS: list[Write] = [
    *(write for kind in ROW_BODIES for write in _row_writes(kind)),
    Write(
        "incident-timeline-event-hide",
        "POST",
        lambda w: f"{rows(w, 'timeline-events')}/{w.event.pk}/hide",
    ),
    Write(
        "incident-timeline-event-show",
        "POST",
        lambda w: f"{rows(w, 'timeline-events')}/{w.of('timeline-events:hidden').pk}/show",
    ),
]

ACTION_ITEMS: list[Write] = [
    Write("action-item-complete", "POST", lambda w: f"{API}/action-items/{w.item.pk}/complete"),
    Write(
        "action-item-start",
        "POST",
        lambda w: f"{API}/action-items/{w.of('item:start').pk}/start",
    ),
    Write(
        "action-item-wont-do",
        "POST",
        lambda w: f"{API}/action-items/{w.of('item:wont-do').pk}/wont-do",
        lambda w: {"reason": "The new build check covers it."},
    ),
    Write(
        "action-item-reopen",
        "POST",
        lambda w: f"{API}/action-items/{w.of('item:reopen').pk}/reopen",
    ),
]

COMMUNICATIONS: list[Write] = [
    Write(
        "incident-communication-generate",
        "POST",
        lambda w: f"{rows(w, 'communications')}/generate",
        lambda w: {"template": "user-email-resolved"},
    ),
    Write(
        "incident-communication-detail",
        "PATCH",
        lambda w: _message(w, "patch"),
        lambda w: {"subject": "Checkout works again"},
    ),
    Write("incident-communication-detail", "DELETE", lambda w: _message(w, "delete")),
    Write("incident-communication-approve", "POST", lambda w: f"{_message(w, 'approve')}/approve"),
    Write(
        "incident-communication-send",
        "POST",
        lambda w: f"{rows(w, 'communications')}/{w.communication.pk}/send",
    ),
    Write("incident-communication-correct", "POST", lambda w: f"{_message(w, 'correct')}/correct"),
    Write(
        "incident-communication-retract",
        "POST",
        lambda w: f"{_message(w, 'retract')}/retract",
        lambda w: {"reason": "It named the wrong day."},
    ),
    Write(
        "communication-template-list",
        "POST",
        lambda w: f"{API}/communication-templates",
        lambda w: {
            "name": "Email to users: investigating",
            "slug": "user-email-investigating",
            "audience": "user_email",
            "subject_template": "{{ service }}: we are looking into it",
            "body_template": "We are looking into problems with {{ service }}.",
        },
    ),
    Write(
        "communication-template-detail",
        "PATCH",
        lambda w: f"{API}/communication-templates/user-email-resolved",
        lambda w: {"name": "Email to users: it works again"},
    ),
]

WEBHOOKS: list[Write] = [
    Write(
        "webhook-list",
        "POST",
        lambda w: f"{API}/webhooks",
        lambda w: {"name": "Chat", "url": "https://chat.example.com/hooks/in"},
    ),
    Write(
        "webhook-detail",
        "PATCH",
        lambda w: f"{API}/webhooks/{w.hook.pk}",
        lambda w: {"name": "Pager (primary)"},
    ),
    Write("webhook-detail", "DELETE", lambda w: f"{API}/webhooks/{w.of('hook:delete').pk}"),
    Write("webhook-ping", "POST", lambda w: f"{API}/webhooks/{w.hook.pk}/ping"),
    Write("webhook-secret", "POST", lambda w: f"{API}/webhooks/{w.hook.pk}/secret"),
    Write(
        "webhook-redeliver",
        "POST",
        lambda w: f"{API}/webhooks/{w.hook.pk}/deliveries/{w.of('delivery').pk}/redeliver",
    ),
]

API_WRITES: list[Write] = [*INCIDENTS, *ROWS, *ACTION_ITEMS, *COMMUNICATIONS, *WEBHOOKS]
