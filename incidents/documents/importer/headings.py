"""Which part of a post-mortem a heading names, by meaning rather than exact text.

A heading is reduced to its words (emoji, garbled emoji, emphasis, numbering, punctuation and
case removed, see text.heading_words) and matched against the phrases below: first exactly, then
as the heading's beginning, then anywhere in it as whole words (the longest phrase wins). Inside
a section its own sub-parts are tried first ("Internal" under Messaging is an audience), then the
document-wide table.
"""

from __future__ import annotations

import re

from incidents.documents.text import heading_aside_list, heading_words, plain_heading
from incidents.models import Audience, Cause, FinalNote, Horizon, Lesson, StatusItem

# Document-wide: key -> phrases (already in heading_words form).
SECTIONS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary", "incident summary", "overview", "executive summary", "description",
        "issue summary", "incident overview", "tldr", "tl dr", "abstract", "background",
    ),
    "what_happened": ("what happened", "what went on", "narrative", "incident description"),
    "impact": ("impact", "customer impact", "user impact", "business impact", "impact assessment"),
    "timeline": (
        "timeline", "timeline of events", "incident timeline", "chronology", "sequence of events",
        "event log", "events",
    ),
    "resolution": (
        "resolution", "how it was resolved", "recovery", "resolution and recovery", "the fix",
        "mitigation", "how we fixed it",
    ),
    "detection": ("detection", "how it was detected", "how we found out", "discovery"),
    "status": ("current status", "status update", "service status", "where we stand", "status"),
    "working": ("whats working", "what is working", "what works", "working"),
    "known_issues": ("known issues", "open issues", "outstanding issues", "remaining issues"),
    "causes": (
        "root cause analysis", "root causes", "root cause", "causes", "rca", "why it happened",
        "causal analysis", "analysis",
    ),
    "primary": ("primary cause", "main cause", "underlying cause", "primary root cause"),
    "contributing": (
        "contributing factors", "contributing factor", "contributing causes", "contributors",
        "factors",
    ),
    "trigger": ("trigger", "triggers", "triggering event", "what triggered it"),
    "assumption": (
        "incorrect assumptions", "incorrect assumption", "wrong assumptions", "assumptions",
        "false assumptions", "assumption",
    ),
    "lessons": (
        "lessons learned", "lessons learnt", "lessons", "learnings", "howd we do", "how did we do",
        "retrospective", "takeaways",
    ),
    "went_wrong": (
        "what went wrong", "went wrong", "what didnt go so well", "what didnt go well",
        "what did not go well", "what went poorly", "what went badly", "what could have gone better",
        "things that went wrong", "what could be improved",
    ),
    "went_right": (
        "what went right", "what went well", "went well", "went right", "things that went well",
        "what worked well", "what worked",
    ),
    "lucky": ("where we got lucky", "where we were lucky", "got lucky", "lucky"),
    "actions": (
        "action items", "actions", "todo list", "immediate todo list", "todo", "to do",
        "to do list", "tasks", "follow ups", "follow up actions", "follow up items",
        "corrective actions", "remediation items", "remediation", "corrective and preventive actions",
    ),
    "prevention": (
        "prevention measures", "prevention", "preventive measures", "preventative measures",
        "prevention plan",
    ),
    "path_forward": (
        "path forward", "way forward", "plan forward", "recovery plan", "solution options",
        "options",
    ),
    "communication": (
        "communication", "communications", "messaging", "messages", "customer communication",
        "external communication", "status page updates", "comms", "notifications",
    ),
    "criteria": (
        "success criteria", "definition of done", "exit criteria", "done when",
        "acceptance criteria",
    ),
    "final_notes": (
        "final notes", "closing notes", "notes", "final thoughts", "conclusion", "closing thoughts",
        "wrap up",
    ),
    "accomplished": ("what we accomplished", "what we accomplished today", "accomplishments"),
    "learned": ("what we learned", "what we learnt", "what i learned"),
    "moving_forward": ("moving forward", "going forward", "looking ahead"),
    "other_notes": ("other notes",),
    "next_step": ("next step", "next steps", "whats next", "what happens next"),
    "responders": (
        "responders", "people involved", "participants", "incident team", "who was involved",
        "roles",
    ),
}  # fmt: skip

HORIZONS: dict[str, tuple[str, ...]] = {
    Horizon.IMMEDIATE: ("immediate", "immediate actions", "immediately", "right now", "now"),
    Horizon.TODAY: ("today", "next few hours", "next 2 3 hours", "within hours"),
    Horizon.THIS_WEEK: ("this week", "short term", "next week", "this sprint", "within a week"),
    Horizon.BEFORE_NEXT_DEPLOYMENT: (
        "before next deployment", "required before next deployment", "before the next deployment",
        "before next deploy", "before deploying", "before deploying again", "blockers",
    ),
    Horizon.LONG_TERM: (
        "long term", "long term goals", "longer term", "later", "this month", "this quarter",
        "mid term", "medium term", "someday",
    ),
}  # fmt: skip

AUDIENCES: dict[str, tuple[str, ...]] = {
    Audience.USER_EMAIL: (
        "email to users", "to users", "users", "customers", "to customers", "user email",
        "customer email", "email",
    ),
    Audience.STATUS_PAGE: (
        "status page update", "status page", "external", "public", "external message",
        "public update",
    ),
    Audience.INTERNAL: ("internal summary", "internal", "internal message", "team", "engineering"),
    Audience.EXECUTIVE: (
        "executive summary", "executive", "executives", "leadership", "management", "stakeholders",
    ),
}  # fmt: skip

# The parts a section holds, tried before the document-wide table.
CHILDREN: dict[str, dict[str, tuple[str, ...]]] = {
    "status": {
        "current": ("production", "current status", "current", "services", "systems", "health"),
        "working": SECTIONS["working"],
        "known_issues": SECTIONS["known_issues"],
    },
    "causes": {k: SECTIONS[k] for k in ("primary", "contributing", "trigger", "assumption")},
    "lessons": {k: SECTIONS[k] for k in ("went_wrong", "went_right", "lucky")},
    "final_notes": {
        k: SECTIONS[k] for k in ("accomplished", "learned", "moving_forward", "other_notes")
    },
    "actions": {f"horizon:{k}": v for k, v in HORIZONS.items()},
    "prevention": {f"horizon:{k}": v for k, v in HORIZONS.items()},
    "criteria": {f"horizon:{k}": v for k, v in HORIZONS.items()},
    "communication": {f"audience:{k}": v for k, v in AUDIENCES.items()},
}

CAUSE_KINDS = {
    "primary": Cause.Kind.PRIMARY,
    "contributing": Cause.Kind.CONTRIBUTING,
    "trigger": Cause.Kind.TRIGGER,
    "assumption": Cause.Kind.ASSUMPTION,
}
LESSON_KINDS = {
    "went_wrong": Lesson.Kind.WENT_WRONG,
    "went_right": Lesson.Kind.WENT_RIGHT,
    "lucky": Lesson.Kind.LUCKY,
}
STATUS_KINDS = {
    "current": StatusItem.Kind.CURRENT,
    "working": StatusItem.Kind.WORKING,
    "known_issues": StatusItem.Kind.KNOWN_ISSUE,
}
NOTE_KINDS = {
    "accomplished": FinalNote.Kind.ACCOMPLISHED,
    "learned": FinalNote.Kind.LEARNED,
    "moving_forward": FinalNote.Kind.MOVING_FORWARD,
    "other_notes": FinalNote.Kind.OTHER,
}

# Sections whose heading's aside ("Impact (Complete Outage)") opens their text.
PROSE_SECTIONS = {
    "summary": "summary", "what_happened": "summary", "detection": "summary",
    "impact": "impact", "resolution": "resolution", "next_step": "next_step",
}  # fmt: skip
# Asides the section readers act on: "(Done)" ticks items, "(Pre-existing)" marks known
# issues, "(URGENT)" a priority, "(Sent)" or a phase a message. Any other aside says something
# of its own and is kept.
_ACTED_ON = frozenset({
    "done", "pre", "existing", "preexisting", "urgent", "critical", "draft", "approved", "sent",
    "published", "investigating", "identified", "monitoring", "resolved", "update",
})  # fmt: skip

PRIORITY_RE = re.compile(r"^(?:priority|p)\s*(\d{1,3})\s*(?:[:.)\-\u2013\u2014]\s*)?(.*)$", re.I)


def _match(words: str, table: dict[str, tuple[str, ...]]) -> str | None:
    if not words:
        return None
    for key, phrases in table.items():
        if words in phrases:
            return key
    best: tuple[int, str] | None = None
    padded = f" {words} "
    for key, phrases in table.items():
        for phrase in phrases:
            score = 0
            if words.startswith(phrase + " "):
                score = 2 * len(phrase) + 1
            elif f" {phrase} " in padded:
                score = 2 * len(phrase)
            if score and (best is None or score > best[0]):
                best = (score, key)
    return best[1] if best else None


def classify(heading: str, parent: str | None = None) -> str | None:
    """The key of what `heading` names, looked up in `parent`'s parts first; None if nothing
    matches."""
    if parent == "path_forward" and PRIORITY_RE.match(plain_heading(heading)):
        return "priority"
    words = heading_words(heading)
    if parent in CHILDREN:
        key = _match(words, CHILDREN[parent])
        if key:
            return key
    return _match(words, SECTIONS)


# Exact phrases of each section's parts, for labels written as list items ("**Trigger:**").
_EXACT = {
    parent: {phrase: key for key, phrases in table.items() for phrase in phrases}
    for parent, table in CHILDREN.items()
}


def label_of(text: str, parent: str) -> str | None:
    """What a short label names among `parent`'s parts, by exact phrase only: cheap enough to
    ask of every list item."""
    if len(text) > 60:
        return None
    return _EXACT[parent].get(heading_words(text))


def names_section(heading: str) -> bool:
    """Whether the heading is exactly a section's name ("# Timeline"), not a title that happens
    to contain one ("# MoodMash Post-Mortem & Recovery Plan")."""
    words = heading_words(heading)
    return any(words in phrases for phrases in SECTIONS.values())


def unread_asides(heading: str) -> list[str]:
    """The heading's bracketed asides that no section reader acts on, as written."""
    return [
        aside
        for aside in heading_aside_list(heading)
        if not set(heading_words(aside).split()) <= _ACTED_ON
    ]


def horizon_of(text: str) -> str | None:
    return _match(heading_words(text), HORIZONS)


def audience_of(text: str) -> str | None:
    return _match(heading_words(text), AUDIENCES)
