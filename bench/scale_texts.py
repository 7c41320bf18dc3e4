"""The words of the scale benchmark's generated history: what teams write about their outages.

Every incident has one theme, the thing that broke. A third are about a background worker, so a
search for "worker" fills its first page at every size; no text anywhere says "zeppelin", so a
search for it finds nothing after reading everything. Texts name a service ({service}) to vary
them without leaving the vocabulary of a real history.
"""

from __future__ import annotations

from dataclasses import dataclass

SEARCH_HIT = "worker"
SEARCH_MISS = "zeppelin"


@dataclass(frozen=True)
class Theme:
    weight: int
    titles: tuple[str, ...]
    summaries: tuple[str, ...]
    causes: tuple[str, ...]
    lines: tuple[str, ...]  # timeline lines only this theme writes
    actions: tuple[str, ...]
    # The cause category (incidents.models.Cause.Category) of its primary cause.
    category: str = ""


THEMES = (
    Theme(
        weight=35,
        category="change",
        titles=(
            "{service}: background worker stopped taking jobs",
            "{service} worker crashed on start after a release",
            "Jobs piled up while the {service} worker restarted in a loop",
        ),
        summaries=(
            "The {service} worker **stopped processing jobs** for a while; requests that "
            "needed it timed out and users saw errors.",
            "A release of {service} shipped a worker bundle without its compiled entry file, "
            "so every worker process failed at start.",
        ),
        causes=(
            "The worker bundle was built without its compiled entry file",
            "Nothing checked that the worker started before traffic moved over",
            "The worker's restart loop hid the crash from the health check",
        ),
        lines=(
            "Worker logs show the process exiting right after start.",
            "Queue depth for the {service} worker keeps climbing.",
            "Restarted the worker pool by hand; it fails again within a minute.",
        ),
        actions=(
            "Check that the worker entry file exists before a deploy is allowed",
            "Alert on worker queue depth, not only on the web tier",
        ),
    ),
    Theme(
        weight=15,
        category="capacity",
        titles=("{service}: cache cluster evicted everything", "Cold cache slowed {service}"),
        summaries=(
            "The cache in front of {service} was flushed during maintenance and the database "
            "took the full read load.",
        ),
        causes=("A maintenance script flushed every cache node at once",),
        lines=("Cache hit rate dropped to near zero.", "Database CPU pinned at full load."),
        actions=("Warm the cache node by node during maintenance",),
    ),
    Theme(
        weight=15,
        category="infrastructure",
        titles=("{service}: expired certificate", "TLS handshakes failed for {service}"),
        summaries=(
            "The TLS certificate of {service} expired overnight; browsers refused to connect.",
        ),
        causes=("Certificate renewal failed quietly a month earlier",),
        lines=("Browsers report an expired certificate.", "Issued and installed a new one."),
        actions=("Alert thirty days before any certificate expires",),
    ),
    Theme(
        weight=15,
        category="infrastructure",
        titles=("{service}: database failover took too long", "{service} lost its primary"),
        summaries=(
            "The primary database of {service} went away and the replica took minutes to "
            "be promoted.",
        ),
        causes=("Failover waited for a timeout far longer than needed",),
        lines=("Connections to the primary time out.", "Replica promoted by hand."),
        actions=("Shorten the failover timeout and rehearse it every quarter",),
    ),
    Theme(
        weight=15,
        category="configuration",
        titles=(
            "{service}: a feature flag turned on for everyone",
            "Bad flag rollout in {service}",
        ),
        summaries=("A feature flag meant for staff was switched on for every user of {service}.",),
        causes=("The flag tool defaulted to all users when no audience was chosen",),
        lines=("Flag change recorded by the flag tool.", "Flag switched off again."),
        actions=("Require an audience before a flag can be switched on",),
    ),
    Theme(
        weight=15,
        category="capacity",
        titles=("{service}: disk full on the log volume", "{service} stopped writing logs"),
        summaries=("The log volume of {service} filled up and the service refused writes.",),
        causes=("Log rotation was switched off in a config change",),
        lines=("Disk usage at one hundred percent.", "Cleared old logs and rotated."),
        actions=("Alert when a volume passes eighty percent",),
    ),
)

# Timeline lines any incident may have, whatever broke.
COMMON_LINES = (
    "Paged the on-call engineer for {service}.",
    "Opened an incident channel and a bridge call.",
    "Error rate on {service} above five percent.",
    "Support reports users who cannot sign in.",
    "Status page updated: we are looking into it.",
    "Rolled back {service} to the previous release.",
    "Error rate back under one percent.",
    "Latency for {service} back to normal.",
    "Customer success told the largest accounts.",
    "Watching the graphs for another half hour.",
    "Confirmed with support that reports have stopped.",
    "Declared resolved; the write-up follows.",
)

LESSONS = {
    "went_wrong": (
        "Nobody noticed for a while because the alert went to an old channel.",
        "The runbook for {service} was out of date.",
    ),
    "went_right": (
        "The rollback of {service} took two minutes.",
        "The status page was updated within five minutes.",
    ),
    "lucky": ("It happened outside the busiest hours.", "A teammate was already looking."),
}

COMMON_ACTIONS = (
    "Update the runbook for {service}",
    "Add a dashboard panel for the error rate",
    "Review the alert routing for {service}",
    "Write down who to call for {service}",
    "Add a smoke test after each release",
    "Move the on-call rota to the new tool",
)

CRITERIA = (
    "An alert fires within two minutes when {service} fails.",
    "A release that would break {service} is stopped before it ships.",
    "The runbook was followed end to end in a drill.",
)

IMPACTS = (
    "Some users of {service} saw errors for the duration.",
    "Most requests to {service} failed; nothing was lost.",
)
RESOLUTIONS = ("Rolled back and confirmed recovery.", "Fixed forward with a patch release.")
NEXT_STEPS = ("Finish the action items and review them next week.",)
CHANGES = (
    "Raised the connection pool size of {service}",
    "Switched the new search flag on for staff",
    "Moved {service} to new instance types",
    "Rotated the credentials of {service}",
)
