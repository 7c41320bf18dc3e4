"""The facts a communication template may name, and who may read each.

Public placeholders are what anyone outside the team may learn about an incident: the service,
when, for how long, how bad, the one-line status, the next step and the affected components.
Internal ones (the root cause, names, action items, notes) exist only for the internal and
executive audiences. A public template that names an internal placeholder is refused when it is
saved, and the facts handed to a public template never hold internal values in the first place,
so even a template that slipped past validation (an edit straight in the database) renders them
as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import Audience

# Audiences whose text leaves the team: only public facts reach them.
PUBLIC_AUDIENCES = frozenset(
    {Audience.USER_EMAIL, Audience.STATUS_PAGE, Audience.PUBLIC_POSTMORTEM}
)


@dataclass(frozen=True)
class Placeholder:
    name: str
    help: str
    public: bool
    # For a list of records: the keys each item has ({% for item in action_items %}{{ item.title }}).
    item_keys: tuple[str, ...] = ()
    # A list: the only thing a template may loop over.
    many: bool = False


PLACEHOLDERS: tuple[Placeholder, ...] = (
    # --- Public ---------------------------------------------------------------------------------
    Placeholder("service", "The service's name, e.g. MoodMash.", True),
    Placeholder("service_url", "The service's public address, if it has one.", True),
    Placeholder(
        "started_at", 'When it started; format it, e.g. {{ started_at|date:"F j, Y" }}.', True
    ),
    Placeholder("ended_at", "When it was resolved; empty while it is open.", True),
    Placeholder("duration", 'How long it lasted in words, e.g. "about 16 minutes".', True),
    Placeholder(
        "span",
        'From when to when, e.g. "from 06:02 to 06:18 UTC"; with both dates when it crosses '
        "midnight. Empty while it is open.",
        True,
    ),
    Placeholder("severity", 'The severity, e.g. "SEV1 · Critical".', True),
    Placeholder("status", "Investigating, Identified, Monitoring or Resolved.", True),
    Placeholder("is_resolved", "True once the incident is resolved.", True),
    Placeholder("impact", "The impact summary (Markdown).", True),
    Placeholder("status_line", "Where things stand, in one line.", True),
    Placeholder("next_step", "What happens next (Markdown).", True),
    Placeholder("components", "Names of the health checks that failed (a list).", True, many=True),
    Placeholder("status_page_url", "The address of the public status page.", True),
    # --- Internal -------------------------------------------------------------------------------
    Placeholder("reference", "The incident's reference, e.g. INC-1.", False),
    Placeholder("title", "The incident's title.", False),
    Placeholder("incident_url", "The incident's page in Hindsight.", False),
    Placeholder("summary", "The post-mortem's summary (Markdown).", False),
    Placeholder("resolution", "How it was resolved (Markdown).", False),
    Placeholder("postmortem_state", "Draft, In review or Published.", False),
    Placeholder("detected_at", "When it was detected.", False),
    Placeholder("mitigated_at", "When it was mitigated.", False),
    Placeholder("time_to_detect", "From start to detection, in words.", False),
    Placeholder("time_to_mitigate", "From start to mitigation, in words.", False),
    Placeholder("root_cause", "The primary causes' titles, joined.", False),
    Placeholder("causes", "Every cause (a list).", False, ("kind", "title", "detail"), many=True),
    Placeholder(
        "contributing_factors", "Titles of the contributing factors (a list).", False, many=True
    ),
    Placeholder(
        "action_items",
        "Every action item, without their steps (a list).",
        False,
        ("title", "owner", "due_date", "status", "blocks_deployments"),
        many=True,
    ),
    Placeholder("open_action_items", "How many action items (not steps) are still open.", False),
    Placeholder("blocking_action_items", "How many open items block deployments.", False),
    Placeholder("lessons", "The lessons, as text (a list).", False, many=True),
    Placeholder("notes", "The final notes, as text (a list).", False, many=True),
    Placeholder("authors", "Usernames of the post-mortem's authors (a list).", False, many=True),
)

BY_NAME = {placeholder.name: placeholder for placeholder in PLACEHOLDERS}


def is_public(audience: str) -> bool:
    return audience in PUBLIC_AUDIENCES


def placeholders_for(audience: str) -> list[Placeholder]:
    """What a template for `audience` may use, public ones first."""
    public = is_public(audience)
    return [p for p in PLACEHOLDERS if p.public or not public]
