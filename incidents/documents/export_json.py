"""An incident and every part of it as JSON, in a versioned schema.

Schema "hindsight.postmortem/v1". A document is one object:

    schema          "hindsight.postmortem/v1"; a change that removes or renames a member, or
                    changes its meaning, gets a new version; new members may appear within v1.
    exported_at     when it was made (ISO 8601, UTC, "Z").
    incident        reference ("INC-7"), number, title, service {slug, name}, severity
                    (sev1..sev4), status, postmortem_state, status_line, started_at,
                    detected_at, mitigated_at, resolved_at, duration_seconds (null while
                    open), duplicate_of (the reference of the incident it duplicates, or
                    null), public_since (when it went on the public status page; null while
                    internal), public_by (a username, or null), public_marked (kept public when
                    its updates are withdrawn), summary, impact, resolution, next_step
                    (Markdown), authors (usernames), labels, external_references [{source,
                    key, url}], created_by, created_at, updated_at, version.
    timeline        [{id, occurred_at, kind, source, text, deployment, created_by, created_at,
                    updated_at, version}] in time order. Lines hidden from the published post-mortem are left out.
    status_items    [{id, kind, label, detail, ok, warning, pre_existing, order, version}]
    causes          [{id, parent, kind, category, title, detail, order, deployment, updated_at,
                    version}]; parent is the id of the cause it is nested under, or null;
                    category is "" when the cause has none.
    lessons         [{id, kind, text, order, updated_at, version}]
    action_items    [{id, parent, title, detail, status, priority, kind, horizon, owner,
                    due_date, blocks_deployments, done_at, done_by, closed_reason (why a
                    wont_do will not be done; empty otherwise), order, created_at,
                    updated_at, version}]; parent as for causes.
    success_criteria [{id, group, text, done, done_at, order, updated_at, version}]
    path_forward    [{id, title, urgent, detail, order, version,
                      options: [{id, label, title, estimate, detail, chosen, order, version}]}]
    communications  [{id, audience, phase, status, subject, body, template, corrects,
                    created_by, approved_by, approved_at, sent_at, created_at, updated_at,
                    facts: {started_at, ended_at, duration, components}, the facts a generated
                    draft stated, empty for one written by hand; retracted_at, retracted_by,
                    retraction_reason for a status page update withdrawn after it was
                    published}]
    final_notes     [{id, kind, text, order, version}]
    attachments     [{id, name, content_type, size, sha256, url, file, timeline_event,
                    uploaded_by, created_at}]: the files pasted or dropped into its texts.
                    content_type is read from the file's bytes; url is where Hindsight serves
                    it (the texts link to it), file where it lies in an export with files
                    (the .zip); timeline_event the id of the event it was dropped onto, or null.

Times are ISO 8601 in UTC, dates YYYY-MM-DD, people their usernames, a deployment
{id, external_id}. Texts are the Markdown people wrote; the rendered HTML is derived from it and
left out. `version` is a row's version, its ETag in the API. Enumerations use the values of the models' choices (e.g. "went_wrong",
"before_next_deployment"). Rows of a section come in their hand-made order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import Communication, Incident

SCHEMA = "hindsight.postmortem/v1"


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _deployment(row: Any) -> dict[str, Any] | None:
    if row.deployment_id is None:
        return None
    return {"id": row.deployment_id, "external_id": row.deployment.external_id}


def _ordered(rows: Iterable) -> list:
    return sorted(rows, key=lambda r: (r.order, r.pk))


def postmortem_json(
    incident: Incident, communications: Iterable[Communication] = ()
) -> dict[str, Any]:
    """The whole incident as a JSON-ready dict. Pass an incident read with
    selectors.incident_document and its communications (with `template` selected); one more
    query reads the names of the people they refer to."""
    communications = list(communications)
    items = _ordered(incident.action_items.all())
    user_ids = {i.done_by_id for i in items if i.done_by_id is not None} | {
        pk
        for c in communications
        for pk in (c.created_by_id, c.approved_by_id, c.retracted_by_id)
        if pk is not None
    }
    user_model = get_user_model()
    names = (
        dict(
            user_model.objects.filter(pk__in=user_ids).values_list("pk", user_model.USERNAME_FIELD)
        )
        if user_ids
        else {}
    )
    duration = incident.duration
    return {
        "schema": SCHEMA,
        "exported_at": _time(timezone.now()),
        "incident": {
            "reference": incident.reference,
            "number": incident.number,
            "title": incident.title,
            "service": {"slug": incident.service.slug, "name": incident.service.name},
            "severity": incident.severity,
            "status": incident.status,
            "postmortem_state": incident.postmortem_state,
            "status_line": incident.status_line,
            "started_at": _time(incident.started_at),
            "detected_at": _time(incident.detected_at),
            "mitigated_at": _time(incident.mitigated_at),
            "resolved_at": _time(incident.resolved_at),
            "duration_seconds": int(duration.total_seconds()) if duration is not None else None,
            "duplicate_of": incident.duplicate_of.reference if incident.duplicate_of else None,
            "public_since": _time(incident.public_since),
            "public_by": incident.public_by.get_username() if incident.public_by else None,
            "public_marked": incident.public_marked,
            "summary": incident.summary,
            "impact": incident.impact,
            "resolution": incident.resolution,
            "next_step": incident.next_step,
            "authors": [a.get_username() for a in incident.authors.all()],
            "labels": [label.name for label in incident.labels.all()],
            "external_references": [
                {"source": r.source, "key": r.key, "url": r.url}
                for r in incident.external_references.all()
            ],
            "created_by": incident.created_by.get_username() if incident.created_by else None,
            "created_at": _time(incident.created_at),
            "updated_at": _time(incident.updated_at),
            "version": incident.version,
        },
        "timeline": [
            {
                "id": e.pk,
                "occurred_at": _time(e.occurred_at),
                "kind": e.kind,
                "source": e.source,
                "text": e.text,
                "deployment": _deployment(e),
                "created_by": e.created_by.get_username() if e.created_by else None,
                "created_at": _time(e.created_at),
                "updated_at": _time(e.updated_at),
                "version": e.version,
            }
            for e in incident.timeline_events.all()
            # Hidden lines and proposals nobody kept are not part of the published document.
            if not e.hidden and not e.proposed
        ],
        "status_items": [
            {
                "id": s.pk, "kind": s.kind, "label": s.label, "detail": s.detail, "ok": s.ok,
                "warning": s.warning, "pre_existing": s.pre_existing, "order": s.order, "version": s.version,
            }
            for s in _ordered(incident.status_items.all())
        ],
        "causes": [
            {
                "id": c.pk, "parent": c.parent_id, "kind": c.kind, "category": c.category,
                "title": c.title, "detail": c.detail, "order": c.order, "deployment": _deployment(c),
                "updated_at": _time(c.updated_at), "version": c.version,
            }
            for c in _ordered(incident.causes.all())
            if not c.proposed
        ],
        "lessons": [
            {
                "id": n.pk, "kind": n.kind, "text": n.text, "order": n.order,
                "updated_at": _time(n.updated_at), "version": n.version,
            }
            for n in _ordered(incident.lessons.all())
        ],
        "action_items": [
            {
                "id": i.pk, "parent": i.parent_id, "title": i.title, "detail": i.detail,
                "status": i.status, "priority": i.priority, "kind": i.kind, "horizon": i.horizon,
                "owner": i.owner.get_username() if i.owner else None,
                "due_date": _date(i.due_date), "blocks_deployments": i.blocks_deployments,
                "done_at": _time(i.done_at), "done_by": names.get(i.done_by_id),
                "closed_reason": i.closed_reason, "order": i.order, "created_at": _time(i.created_at),
                "updated_at": _time(i.updated_at), "version": i.version,
            }
            for i in items
        ],
        "success_criteria": [
            {
                "id": c.pk, "group": c.group, "text": c.text, "done": c.done,
                "done_at": _time(c.done_at), "order": c.order, "updated_at": _time(c.updated_at),
                "version": c.version,
            }
            for c in _ordered(incident.success_criteria.all())
        ],
        "path_forward": [
            {
                "id": p.pk, "title": p.title, "urgent": p.urgent, "detail": p.detail,
                "order": p.order, "version": p.version,
                "options": [
                    {
                        "id": o.pk, "label": o.label, "title": o.title, "estimate": o.estimate,
                        "detail": o.detail, "chosen": o.chosen, "order": o.order,
                        "version": o.version,
                    }
                    for o in _ordered(p.options.all())
                ],
            }
            for p in _ordered(incident.priorities.all())
        ],
        "communications": [
            {
                "id": c.pk, "audience": c.audience, "phase": c.phase, "status": c.status,
                "subject": c.subject, "body": c.body,
                "template": c.template.slug if c.template is not None else None,
                "corrects": c.corrects_id, "created_by": names.get(c.created_by_id),
                "approved_by": names.get(c.approved_by_id), "approved_at": _time(c.approved_at),
                "sent_at": _time(c.sent_at), "created_at": _time(c.created_at),
                "updated_at": _time(c.updated_at), "facts": c.facts,
                "retracted_at": _time(c.retracted_at),
                "retracted_by": names.get(c.retracted_by_id),
                "retraction_reason": c.retraction_reason,
            }
            for c in communications
        ],
        "final_notes": [
            {"id": n.pk, "kind": n.kind, "text": n.text, "order": n.order, "version": n.version}
            for n in _ordered(incident.final_notes.all())
        ],
    }  # fmt: skip
