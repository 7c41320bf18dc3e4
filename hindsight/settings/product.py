"""Hindsight's own settings (HINDSIGHT_*): limits, live updates, attachments, deployments and
health, communications and the status page. Each is read from the environment variable of the
same name; the README's configuration table lists them."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from hindsight.settings.base import env

# --- Hindsight --------------------------------------------------------------------------------
# The longest Markdown text a single field accepts; longer input is refused with a field error.
HINDSIGHT_MARKDOWN_MAX_LENGTH = env.int("HINDSIGHT_MARKDOWN_MAX_LENGTH", default=100_000)
# An open incident page asks every this many seconds whether anything changed (incidents.live);
# others' changes show within about one interval. Presence (who has the page open) lasts this
# many seconds after a page last asked.
HINDSIGHT_LIVE_POLL_SECONDS = env.float("HINDSIGHT_LIVE_POLL_SECONDS", default=2.0)
HINDSIGHT_LIVE_PRESENCE_SECONDS = env.int("HINDSIGHT_LIVE_PRESENCE_SECONDS", default=20)
# The largest file an editor may attach to an incident, in megabytes.
HINDSIGHT_ATTACHMENT_MAX_MB = env.int("HINDSIGHT_ATTACHMENT_MAX_MB", default=10)
# A file no text of its incident links to (pasted into a form that was then cancelled, or whose
# link was removed) is deleted once it is this many hours old, by the hourly clean-up.
HINDSIGHT_ATTACHMENT_UNUSED_HOURS = env.int("HINDSIGHT_ATTACHMENT_UNUSED_HOURS", default=24)
# New API tokens expire after at most this many days (0: no limit). A token made over the API
# also expires no later than the token that made it.
HINDSIGHT_TOKEN_MAX_DAYS = env.int("HINDSIGHT_TOKEN_MAX_DAYS", default=365)

# How many reverse proxies in front of Hindsight append to X-Forwarded-For. 0: the address a
# request came from is REMOTE_ADDR, and X-Forwarded-For is never read (a client could write
# anything there). n: the n-th address from the right of X-Forwarded-For, the one the outermost
# proxy saw. The API's per-address rate limits count by it.
HINDSIGHT_TRUSTED_PROXIES = env.int("HINDSIGHT_TRUSTED_PROXIES", default=0)

# --- Deployments and health -------------------------------------------------------------------
# Last known good: a succeeded deployment whose smoke run passed and that stayed healthy this long.
HINDSIGHT_LAST_KNOWN_GOOD_MINUTES = env.int("HINDSIGHT_LAST_KNOWN_GOOD_MINUTES", default=30)
# The incident page shows deployments from this long before an incident started to its end.
HINDSIGHT_CORRELATION_WINDOW_HOURS = env.int("HINDSIGHT_CORRELATION_WINDOW_HOURS", default=24)
# Draft an incident after this many consecutive failing production snapshots; 0 turns it off.
HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES = env.int("HINDSIGHT_AUTO_DRAFT_AFTER_FAILURES", default=0)
# Raw check results older than this are rolled up into hourly aggregates and deleted.
HINDSIGHT_RESULT_RETENTION_DAYS = env.int("HINDSIGHT_RESULT_RETENTION_DAYS", default=14)
# The prober: concurrency caps and timeouts (seconds).
HINDSIGHT_PROBE_MAX_CONCURRENCY = env.int("HINDSIGHT_PROBE_MAX_CONCURRENCY", default=200)
HINDSIGHT_PROBE_MAX_PER_HOST = env.int("HINDSIGHT_PROBE_MAX_PER_HOST", default=10)
HINDSIGHT_PROBE_CONNECT_TIMEOUT = env.float("HINDSIGHT_PROBE_CONNECT_TIMEOUT", default=5.0)
# The SSRF guard refuses private, loopback and link-local targets. Opt in to private targets by
# listing the networks allowed, e.g. "10.0.0.0/8,127.0.0.1/32"; cloud metadata stays refused.
HINDSIGHT_PROBE_ALLOWED_NETWORKS = env.list("HINDSIGHT_PROBE_ALLOWED_NETWORKS", default=[])
# Webhook deliveries (and their attempts) that are done are kept this long for the log.
HINDSIGHT_WEBHOOK_LOG_DAYS = env.int("HINDSIGHT_WEBHOOK_LOG_DAYS", default=30)

# --- Communications and the status page ------------------------------------------------------
# Where people reach this Hindsight; links in emails (confirm, unsubscribe, the status page) and
# feeds are built on it, since a Celery task has no request to ask. `make run PORT=...` passes
# the address it serves on; set empty, it is unset (links must never be relative).
HINDSIGHT_BASE_URL = (env.str("HINDSIGHT_BASE_URL", default="") or "http://127.0.0.1:8000").rstrip(
    "/"
)

# The change feed (/api/v1/events): how long events are kept. A sync job whose cursor is older
# than the oldest kept event is told (410) to resynchronise from the lists.
HINDSIGHT_FEED_RETENTION_DAYS = env.int("HINDSIGHT_FEED_RETENTION_DAYS", default=90)

# --- Reminders (incidents.insights.reminders) -------------------------------------------------
# The local hour (0-23, in each person's own time zone) at which the morning digest of their
# action items goes out, and the weekday (0 Monday ... 6 Sunday) of the admins' weekly summary,
# sent at the same hour. The beat asks every hour; a person whose local hour it is gets theirs.
HINDSIGHT_DIGEST_HOUR = env.int("HINDSIGHT_DIGEST_HOUR", default=8)
HINDSIGHT_SUMMARY_WEEKDAY = env.int("HINDSIGHT_SUMMARY_WEEKDAY", default=0)
if not 0 <= HINDSIGHT_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("HINDSIGHT_DIGEST_HOUR is an hour of the day, 0 to 23.")
if not 0 <= HINDSIGHT_SUMMARY_WEEKDAY <= 6:
    raise ImproperlyConfigured("HINDSIGHT_SUMMARY_WEEKDAY is 0 (Monday) to 6 (Sunday).")
