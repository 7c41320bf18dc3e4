"""The words of the demo's history: three made-up services, what went wrong with them and what
the team promised. Plain phrases the generator (history.py) combines, in the project's words."""

from __future__ import annotations

from incidents.models import ActionItem, Cause

# (slug, name, what it does)
SERVICES = (
    ("ledger", "Ledger", "Keeps every customer's balance and writes the monthly statements."),
    ("parcel", "Parcel", "Tracks shipments and tells customers where their order is."),
    ("beacon", "Beacon", "Sends the push notifications and e-mails of every other service."),
)

# Per service: the health checks (name, path) that watch production.
CHECKS = (("Home page", "/"), ("API health", "/api/health"))

# What failed, by cause category: (incident title, cause title). {service} is the name.
FAILURES: dict[str, tuple[tuple[str, str], ...]] = {
    Cause.Category.CHANGE: (
        ("{service} returns errors after a release", "The release changed a response format"),
        ("{service} pages load without styles", "A build shipped without its stylesheet"),
        ("{service} logins fail after a deploy", "A renamed setting was not set in production"),
    ),
    Cause.Category.CODE: (
        ("{service} times out on large accounts", "A query loads every row to count them"),
        ("{service} shows yesterday's figures", "A cache key ignored the date"),
    ),
    Cause.Category.CONFIGURATION: (
        ("{service} rejects valid requests", "A rate limit was set a thousand times too low"),
        ("{service} certificate expired", "The certificate renewal job pointed at an old host"),
    ),
    Cause.Category.CAPACITY: (
        ("{service} slows down at month end", "The worker pool was sized for an average day"),
        ("{service} queue backs up", "A campaign tripled the traffic in an hour"),
    ),
    Cause.Category.DEPENDENCY: (
        ("{service} cannot reach its payment provider", "The provider's API was down"),
        ("{service} e-mails bounce", "The mail relay started refusing our domain"),
    ),
    Cause.Category.INFRASTRUCTURE: (
        ("{service} database fails over", "A disk on the primary filled up"),
        ("{service} unreachable in one region", "A load balancer lost its health check"),
    ),
    Cause.Category.DATA: (("{service} shows wrong totals", "A migration double-counted refunds"),),
    Cause.Category.MONITORING: (
        ("{service} errors went unnoticed", "The alert watched a metric that no longer exists"),
    ),
    Cause.Category.PROCESS: (
        ("{service} maintenance ran in business hours", "The runbook's time zone was wrong"),
    ),
}

# How often each category is the primary cause, in the same order as FAILURES (weights).
CATEGORY_WEIGHTS = (30, 16, 14, 10, 9, 8, 6, 4, 3)

CONTRIBUTING = (
    ("Nobody was paged outside office hours", Cause.Category.PROCESS),
    ("The dashboard hid the error rate behind an average", Cause.Category.MONITORING),
    ("The staging data was much smaller than production's", Cause.Category.DATA),
)

SUMMARY = "A {severity} incident of {service}. The figures are made up for the demo."

DETECTED = "An alert fired and the on-call engineer started looking."
MITIGATED = "The impact stopped; customers could use {service} again."
RESOLVED = "Resolved: the fix is live and the checks are green."
ROLLBACK = "Rolled back to the previous release."

# (title, kind) of the follow-up work an incident leaves behind.
ACTIONS = (
    ("Add a check for this in the deployment gate", ActionItem.Kind.PREVENT),
    ("Alert on the error rate, not the average latency", ActionItem.Kind.DETECT),
    ("Write the rollback steps into the runbook", ActionItem.Kind.PROCESS),
    ("Add a test that reproduces the failure", ActionItem.Kind.PREVENT),
    ("Scale the workers on a schedule before month end", ActionItem.Kind.MITIGATE),
    ("Review the on-call rota for holidays", ActionItem.Kind.PROCESS),
)

# The gate's messages for the answers it blocked, by rule kind.
GATE_MESSAGES = {
    "required_artifact": "The build has no worker file.",
    "stale_build": "The build is byte-for-byte the one already live.",
    "preview_first": "This build was never deployed to preview.",
    "blocking_action_items": "An open action item blocks deployments of this service.",
    "health_before_promotion": "Preview's checks are failing.",
}
