"""What Hindsight already knows about an incident, as the rows of a first draft: the timeline
lines (status changes, the suspect deployment and the rollback, the first failure and the
recovery, the messages sent), the suspect deployment as the trigger, and text for the summary,
impact and resolution where a person has written none.

Only what is not on the incident already comes back: a fact is on it when a row says it, kept or
still proposed, so asking twice proposes nothing twice; and a fact whose proposal the author
discarded (incidents.models.DiscardedProposal) stays out. A fixed number of queries (the
correlation's, the messages sent, the rows already there, the discards), whatever the number of
facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from deployments import selectors as system
from deployments.correlation import Bracketing
from deployments.models import Deployment
from incidents.documents.importer.fields import describe_duration
from incidents.models import Cause, Communication, DiscardedProposal, Incident, TimelineEvent
from incidents.system.selectors import deployment_cause_title, rollback_text, short, went_live_at

Kind = TimelineEvent.Kind

# Two lines of the same kind less than this apart tell the same fact: a status change written
# when it happened is stamped by the click, which is never the second the fact names.
SAME_MOMENT = timedelta(seconds=60)
# Lines Hindsight wrote as a fact happened carry the fact's own time.
SAME_SECOND = timedelta(seconds=1)
# The incident's own prose a draft may fill, in the page's order.
PROSE = ("summary", "impact", "resolution")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _plain(text: str) -> str:
    """A name or a subject someone typed elsewhere, shown as typed rather than as Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%H:%M} UTC"


@dataclass(frozen=True)
class EventFact:
    occurred_at: datetime
    kind: str
    text: str
    deployment: Deployment | None = None
    # Kinds of line already written that tell this fact when they sit at the same moment, e.g.
    # the status change to monitoring, written when someone clicked it, for "mitigated".
    same_as: tuple[str, ...] = ()
    # For facts that come many to a minute (messages sent): a line within the minute tells this
    # one only if it says this, and otherwise only one at the same second does.
    mention: str = ""


@dataclass(frozen=True)
class CauseFact:
    title: str
    deployment: Deployment
    detail: str = ""


@dataclass
class Draft:
    events: list[EventFact] = field(default_factory=list)
    causes: list[CauseFact] = field(default_factory=list)
    prose: dict[str, str] = field(default_factory=dict)
    # Facts left out because their proposal was discarded before.
    discarded: int = 0

    def __len__(self) -> int:
        return len(self.events) + len(self.causes) + len(self.prose)


def _status_facts(incident: Incident) -> list[EventFact]:
    start, end = incident.started_at, incident.resolved_at
    facts: list[EventFact] = []
    # Declared while it was going on; one entered after the fact was never "declared" then.
    if start <= incident.created_at and (end is None or incident.created_at <= end):
        by = f" by {incident.created_by.get_username()}" if incident.created_by else ""
        facts.append(
            EventFact(
                incident.created_at,
                Kind.STATUS_CHANGE,
                f"Incident declared as **{incident.reference}** "
                f"({incident.get_severity_display()}){by}.",
                same_as=(Kind.STATUS_CHANGE,),
            )
        )
    if incident.detected_at is not None:
        facts.append(
            EventFact(
                incident.detected_at,
                Kind.DETECTED,
                f"Detected, {describe_duration(incident.detected_at - start)} after the start."
                if incident.detected_at > start
                else "Detected as it started.",
                same_as=(Kind.DETECTED,),
            )
        )
    if incident.mitigated_at is not None:
        facts.append(
            EventFact(
                incident.mitigated_at,
                Kind.MITIGATED,
                "Mitigated: the impact stopped, "
                f"{describe_duration(incident.mitigated_at - start)} after the start.",
                # The move to monitoring, or the rollback that stopped the impact.
                same_as=(Kind.MITIGATED, Kind.STATUS_CHANGE, Kind.ROLLBACK),
            )
        )
    if end is not None:
        facts.append(
            EventFact(
                end,
                Kind.RESOLVED,
                f"Resolved, {describe_duration(end - start)} after the start.",
                same_as=(Kind.RESOLVED,),
            )
        )
    return facts


def _rollbacks(
    incident: Incident, deployments: list[Deployment], suspect: Deployment | None
) -> list[Deployment]:
    """Rollbacks that went out during the incident, after the suspect when there is one."""
    since = went_live_at(suspect) if suspect is not None else incident.started_at
    return [
        d
        for d in deployments
        if d.rollback_of_id is not None and went_live_at(d) >= min(since, incident.started_at)
    ]


def _deployment_facts(suspect: Deployment | None, rollbacks: list[Deployment]) -> list[EventFact]:
    facts = []
    if suspect is not None:
        facts.append(
            EventFact(
                went_live_at(suspect),
                Kind.DEPLOYMENT,
                f"Deployment `{short(suspect.commit_sha)}` to {_plain(suspect.environment.name)} "
                "went live: the last one out before health turned red.",
                deployment=suspect,
                same_as=(Kind.DEPLOYMENT,),
            )
        )
    facts += [
        EventFact(
            went_live_at(d), Kind.ROLLBACK, rollback_text(d), deployment=d, same_as=(Kind.ROLLBACK,)
        )
        for d in rollbacks
    ]
    return facts


def _health_facts(bracketing: Bracketing) -> list[EventFact]:
    first = bracketing.first_failed_at
    if first is None:
        return []
    errors = {f.last_error for f in bracketing.failing}
    if len(errors) == 1:
        # Checks that fail alike (every route answering 404, say) are told once.
        names = ", ".join(f"**{_plain(f.name)}**" for f in bracketing.failing)
        error = errors.pop()
        text = f"Health checks started failing: {names}" + (f": {_plain(error)}" if error else ".")
    else:
        text = "Health checks started failing: " + "; ".join(
            f"**{_plain(f.name)}**" + (f": {_plain(f.last_error)}" if f.last_error else "")
            for f in bracketing.failing
        )
    facts = [
        # A line on what set the outage off, at the moment the checks saw it, tells it too.
        EventFact(first, Kind.HEALTH, text, same_as=(Kind.HEALTH, Kind.TRIGGER))
    ]
    if bracketing.after is not None:
        facts.append(
            EventFact(
                bracketing.after.taken_at,
                Kind.HEALTH,
                "Health checks healthy again: the first healthy snapshot after the failures.",
                # Resolving at the moment the checks passed again tells the recovery.
                same_as=(Kind.HEALTH, Kind.RESOLVED),
            )
        )
    return facts


def _message_facts(sent: list[Communication]) -> list[EventFact]:
    return [
        EventFact(
            c.sent_at,
            Kind.COMMUNICATION,
            f"{c.get_audience_display()} sent: “{_plain(c.subject)}”",
            same_as=(Kind.COMMUNICATION,),
            # Quoted as communication_send quotes it, so "Update 1" is not found in "Update 10".
            mention=f"“{_plain(c.subject)}”",
        )
        for c in sent
        if c.sent_at is not None
    ]


def _prose(
    incident: Incident,
    suspect: Deployment | None,
    rollbacks: list[Deployment],
    bracketing: Bracketing,
) -> dict[str, str]:
    start, end = incident.started_at, incident.resolved_at
    prose: dict[str, str] = {}
    if end is not None:
        text = (
            f"The incident lasted {describe_duration(end - start)}, from "
            f"{start.astimezone(UTC):%Y-%m-%d %H:%M} to {_utc(end)}."
        )
        if suspect is not None:
            text += (
                f" It followed deployment `{short(suspect.commit_sha)}` to "
                f"{_plain(suspect.environment.name)}, the last one out before health turned red."
            )
        prose["summary"] = text
    impact_start = bracketing.first_failed_at or start
    recovered = bracketing.after.taken_at if bracketing.after is not None else None
    impact_end = recovered or incident.mitigated_at or end
    if impact_end is not None and impact_end > impact_start:
        since = "the first failing health check" if bracketing.first_failed_at else "the start"
        until = (
            "the first healthy snapshot after it"
            if recovered
            else ("the mitigation" if impact_end == incident.mitigated_at else "the resolution")
        )
        prose["impact"] = (
            f"Impact window: {impact_start.astimezone(UTC):%Y-%m-%d %H:%M} to {_utc(impact_end)} "
            f"({describe_duration(impact_end - impact_start)}), from {since} to {until}."
        )
    if rollbacks:
        last = rollbacks[-1]
        prose["resolution"] = f"{rollback_text(last)[:-1]} at {_utc(went_live_at(last))}." + (
            f" Health checks were healthy again at {_utc(recovered)}." if recovered else ""
        )
    return prose


Written = list[tuple[str, datetime, int | None, str]]


def _already_told(fact: EventFact, written: Written) -> bool:
    for kind, at, deployment_id, text in written:
        if fact.deployment is not None and deployment_id == fact.deployment.pk:
            return True
        # A line naming another deployment tells that one, however close in time.
        if kind not in fact.same_as or (fact.deployment is not None and deployment_id):
            continue
        apart = abs(at - fact.occurred_at)
        if apart <= SAME_SECOND or (
            apart < SAME_MOMENT and (not fact.mention or fact.mention in text)
        ):
            return True
    return False


Part = DiscardedProposal.Part


def _event_discarded(fact: EventFact, discarded: list[DiscardedProposal]) -> bool:
    """Whether the author discarded this line before: the same deployment's line of the kind,
    or a line of the kind at the same moment, as _already_told reads one, saying the same
    message."""
    for d in discarded:
        if d.part != Part.TIMELINE or d.kind != fact.kind:
            continue
        if fact.deployment is not None:
            if d.deployment_id == fact.deployment.pk:
                return True
            continue
        if d.deployment_id is not None or d.occurred_at is None:
            continue
        apart = abs(d.occurred_at - fact.occurred_at)
        if apart <= SAME_SECOND or (
            apart < SAME_MOMENT and (not fact.mention or fact.mention in d.text)
        ):
            return True
    return False


def _cause_discarded(suspect: Deployment, discarded: list[DiscardedProposal]) -> bool:
    return any(d.part == Part.CAUSE and d.deployment_id == suspect.pk for d in discarded)


def _text_discarded(name: str, text: str, discarded: list[DiscardedProposal]) -> bool:
    # Compared whole: a text the facts have changed since (the incident resolved, say) is new.
    return any(d.part == Part.TEXT and d.kind == name and d.text == text for d in discarded)


def draft_from_facts(incident: Incident) -> Draft:
    """What a first draft of the incident's post-mortem would add, leaving out every fact a row
    already tells (proposed or kept), every prose field that has text or a proposal, and every
    proposal the author discarded before.

    Reads the incident as given (with its service); a fixed number of queries.
    """
    found = system.correlation(
        service=incident.service, start=incident.started_at, end=incident.resolved_at
    )
    suspect = found.suspect
    rollbacks = _rollbacks(incident, found.deployments, suspect)
    sent = list(
        Communication.objects.filter(
            incident=incident, status=Communication.Status.SENT, sent_at__isnull=False
        ).order_by("sent_at", "id")
    )
    # At the same moment what the system saw reads before what people declared about it: the
    # checks recover, then the incident is resolved (sorted() keeps this order at a tie).
    facts = [
        *_deployment_facts(suspect, rollbacks),
        *_health_facts(found.bracketing),
        *_message_facts(sent),
        *_status_facts(incident),
    ]
    written: Written = list(
        TimelineEvent.objects.filter(incident=incident).values_list(
            "kind", "occurred_at", "deployment_id", "text"
        )
    )
    discarded = list(DiscardedProposal.objects.filter(incident=incident))
    draft = Draft()
    for fact in sorted(facts, key=lambda f: f.occurred_at):
        if _already_told(fact, written):
            continue
        # A discarded fact still tells what it told when it was proposed (the mitigation at the
        # rollback's minute, say), so the rest of the draft comes out as it did then.
        deployment_id = fact.deployment.pk if fact.deployment else None
        written.append((fact.kind, fact.occurred_at, deployment_id, fact.text))
        if _event_discarded(fact, discarded):
            draft.discarded += 1
        else:
            draft.events.append(fact)
    if (
        suspect is not None
        and not Cause.objects.filter(incident=incident, deployment=suspect).exists()
    ):
        if _cause_discarded(suspect, discarded):
            draft.discarded += 1
        else:
            draft.causes.append(
                CauseFact(
                    deployment_cause_title(suspect),
                    suspect,
                    "The last deployment out before health turned red. Say under the primary cause "
                    "why it could break the service.",
                )
            )
    waiting = incident.proposed_prose or {}
    for name, text in _prose(incident, suspect, rollbacks, found.bracketing).items():
        if getattr(incident, name).strip() or name in waiting:
            continue
        if _text_discarded(name, text, discarded):
            draft.discarded += 1
        else:
            draft.prose[name] = text
    return draft
