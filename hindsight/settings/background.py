"""What runs in the background: Celery beat's schedule, each entry with what it is for, and the
delivery engine's timings (core/delivery.py). The worker's and broker's own settings stay in
base.py beside Redis."""

from __future__ import annotations

from celery.schedules import crontab

from hindsight.settings.base import env

# The delivery engine (core/delivery.py). A worker claims a delivery for the lease before it
# sends it; one send takes at most about 80 s (an email: 10 s per SMTP step; a webhook: 10 s in
# all), so 120 s is never cut short by a live worker. The sweep runs every 30 s and hands back
# claims whose worker died (on PostgreSQL its advisory lock is free at once; elsewhere its lease
# runs out) and retries 120 s past due (a dead worker held them): a dead worker's delivery goes
# out again within one sweep on PostgreSQL, and within lease + sweep (2.5 min) at worst.
HINDSIGHT_DELIVERY_LEASE_SECONDS = env.float("HINDSIGHT_DELIVERY_LEASE_SECONDS", default=120.0)
HINDSIGHT_DELIVERY_SWEEP_SECONDS = env.float("HINDSIGHT_DELIVERY_SWEEP_SECONDS", default=30.0)
HINDSIGHT_DELIVERY_OVERDUE_SECONDS = env.float("HINDSIGHT_DELIVERY_OVERDUE_SECONDS", default=120.0)

CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
CELERY_BEAT_SCHEDULE["idempotency-purge"] = {
    "task": "api.tasks.idempotency_purge_task",
    "schedule": 3600.0,
}
# Health checks: claim due slots and enqueue their probes (deployments.services.probes). A
# dispatch nobody ran within its period is dropped; the next one covers it.
CELERY_BEAT_SCHEDULE["health-dispatch"] = {
    "task": "deployments.tasks.health_dispatch",
    "schedule": 5.0,
    "options": {"expires": 5.0},
}
CELERY_BEAT_SCHEDULE["health-results-roll-up"] = {
    "task": "deployments.tasks.health_results_roll_up",
    "schedule": 3600.0,
}
# Maintenance notices to subscribers: a window's start and end, within a minute of them. Each
# notice is claimed by compare-and-set on its row, so an overlapping or repeated run sends nothing
# twice.
CELERY_BEAT_SCHEDULE["maintenance-notices"] = {
    "task": "incidents.tasks.maintenance_notices_due",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
# The outbox (sends and smoke runs written while Redis was down, or whose quick publish after
# commit failed): publish what it holds. A relay missed in its period is dropped; the next covers it.
CELERY_BEAT_SCHEDULE["outbox-relay"] = {
    "task": "outbox.tasks.outbox_relay",
    "schedule": 10.0,
    "options": {"expires": 10.0},
}
CELERY_BEAT_SCHEDULE["deliveries-sweep"] = {
    "task": "core.tasks.deliveries_sweep",
    "schedule": HINDSIGHT_DELIVERY_SWEEP_SECONDS,
    "options": {"expires": HINDSIGHT_DELIVERY_SWEEP_SECONDS},
}
# The webhook log: deliveries done for longer than HINDSIGHT_WEBHOOK_LOG_DAYS
# (incidents.webhooks.services.webhook_log_prune); a repeated run deletes nothing twice.
CELERY_BEAT_SCHEDULE["webhook-log-prune"] = {
    "task": "incidents.tasks.webhook_log_prune",
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# The change feed: number committed events in order (readers also do it before reading), and
# delete those past HINDSIGHT_FEED_RETENTION_DAYS. Both are safe to overlap or repeat.
CELERY_BEAT_SCHEDULE["feed-sequence"] = {
    "task": "feed.tasks.feed_sequence",
    "schedule": 5.0,
    "options": {"expires": 5.0},
}
CELERY_BEAT_SCHEDULE["feed-purge"] = {
    "task": "feed.tasks.feed_purge",
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# Search documents the per-change refreshes missed: incidents from before search documents (an
# upgrade needs no command) and refreshes whose task was lost
# (incidents.insights.services.search_documents_sweep).
CELERY_BEAT_SCHEDULE["search-documents-sweep"] = {
    "task": "incidents.insights.search_documents_sweep",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
# Attached files no text uses (incidents.attachments.services.attachments_unused_delete). A run
# that overlaps another, or runs twice, deletes nothing twice.
CELERY_BEAT_SCHEDULE["attachments-unused-delete"] = {
    "task": "incidents.tasks.attachments_unused_delete",
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# Reminder emails (incidents.insights.reminders): each hour, on the hour, the people whose local
# HINDSIGHT_DIGEST_HOUR passed since the previous run get their digest (and admins, on
# HINDSIGHT_SUMMARY_WEEKDAY, the weekly summary), so a run that was missed is caught up by the
# next one of the same local day. Each is claimed by a unique row first, so a repeated or
# overlapping run, or a second beat process, sends nothing twice. A queued run expires within
# the hour: the next one covers its hour as well.
CELERY_BEAT_SCHEDULE["reminders-due"] = {
    "task": "incidents.insights.reminders_due",
    "schedule": crontab(minute=0),
    "options": {"expires": 3000.0},
}
