"""Hindsight settings: Django, the database, Redis, Celery and its beat, the cache, static and
media files, security, email and logging.

Everything that differs between machines comes from the environment (12-factor). The embedded
defaults give a working development setup with nothing installed but Python: SQLite under var/,
Celery tasks run eagerly, and an in-process cache.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

# Off by setting DEBUG=false. On by default so that a fresh clone boots with no configuration;
# production deployments must turn it off (the README's production section says how).
DEBUG = env.bool("DEBUG", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only ever used with DEBUG on; sessions signed with it are worthless anywhere else.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "csp",
    "axes",
    "core.apps.CoreConfig",
    "api.apps.ApiConfig",
    "outbox.apps.OutboxConfig",
    "feed.apps.FeedConfig",
    "deployments.apps.DeploymentsConfig",
    "incidents.apps.IncidentsConfig",
]

MIDDLEWARE = [
    # First: every answer carries X-Request-Id and every log line of the request names it.
    "core.request_id.RequestId",
    # API GETs: an ETag on every answer and 304 for If-None-Match; outside everything that
    # shapes the body, so the ETag is computed from the bytes the client gets.
    "api.conditional.ApiConditionalGet",
    "django.middleware.security.SecurityMiddleware",
    # Before the kept status pages, which answer without the rest of the stack, so that every
    # answer carries the Content-Security-Policy (hindsight/settings/security.py).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The kept status page and public incident pages, fresh, before the rest of the stack
    # (a fresh row only; otherwise the view answers and builds).
    "incidents.statuspage.middleware.KeptStatusPages",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signed-in pages are never shown stale from the browser's cache (Back after a change).
    "core.middleware.NoStoreForSignedIn",
    # Times in the zone each person chose (a signed cookie; no query).
    "core.timezones.UserTimeZone",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Records who made each change in the incident history.
    "simple_history.middleware.HistoryRequestMiddleware",
    # RateLimit headers on every API answer; what the throttles never saw counts per address.
    "api.ratelimit_headers.RateLimitHeaders",
    # After authentication: keys are scoped to the token or the logged-in user.
    "api.idempotency.IdempotencyMiddleware",
    # Clears the API token the change feed names as the actor when the request ends.
    "feed.middleware.FeedActor",
    # Under /api/, a 404, 413 or 400 a view raises is a problem with DEBUG on as well as off.
    "api.problems.ApiErrorsAsProblems",
    # Last, as django-axes asks: turns a locked-out sign-in into the login page saying so.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hindsight.urls"
WSGI_APPLICATION = "hindsight.wsgi.application"
ASGI_APPLICATION = "hindsight.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL=postgres://user:pass@host:5432/name switches to PostgreSQL through psycopg 3.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hindsight.sqlite3'}"),
}
# Kept open between requests: a new PostgreSQL connection costs a request about 5 ms, more than
# the status page takes to answer. The health check pings a connection before reusing it, so one
# the server dropped is replaced instead of failing the request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a Celery task or a management command writes, and the
    # timeout turns a brief write lock into a wait instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `manage.py backup` writes Django's JSON with times to the microsecond (incidents/backups/).
SERIALIZATION_MODULES = {"backup-json": "incidents.backups.serializer"}

# --- Redis, Celery and the cache --------------------------------------------------------------
# One REDIS_URL feeds both the broker and the cache. Without it, tasks run eagerly in-process and
# the cache is local memory, so the app is complete with no Redis at all.
REDIS_URL = env.str("REDIS_URL", default="")

# Short socket timeouts: an unreachable or wedged Redis must fail fast, never hang a request.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
# The cache's own, shorter still: every public status page asks the cache first, and with a
# wedged Redis each of them would wait this long before answering from the database.
REDIS_CACHE_SOCKET_TIMEOUT = env.float("REDIS_CACHE_SOCKET_TIMEOUT", default=0.25)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    # Publishing from a request gives up after one quick retry instead of Kombu's long default.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    # acks_late tasks that a dead worker held are redelivered after this many seconds. It stays
    # an hour because a delivery's retry waits in the worker as a countdown task of up to an
    # hour (incidents.communications.delivery.RETRY_MAX_DELAY), and Redis hands any message held
    # longer than this to a second worker as well. A dead worker's deliveries do not wait for
    # it: the delivery engine's sweep below hands them on within minutes.
    "visibility_timeout": 3600,
}
# Before publishing, the Redis result backend subscribes to the task's result channel; its
# default of 20 reconnect attempts turned an unanswering Redis into a minute-long hang.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    },
}
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 30
# CELERY_BEAT_SCHEDULE: background.py, with what each periodic task is for.

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hindsight",
            "OPTIONS": {
                "socket_timeout": REDIS_CACHE_SOCKET_TIMEOUT,
                "socket_connect_timeout": REDIS_CACHE_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
# AUTHENTICATION_BACKENDS: security.py (sign-in throttling, and people only: a service account
# holds API tokens but never logs in to pages).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic writes and whitenoise serves from when DEBUG is off.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (incident attachments). A local folder by default; with HINDSIGHT_S3_BUCKET set,
# an S3-compatible bucket through django-storages (the README's "Attachments" says how). Either
# way the files are only ever served through Hindsight's own view, which checks the login, so
# there is no MEDIA_URL and the bucket stays private.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
HINDSIGHT_S3_BUCKET = env.str("HINDSIGHT_S3_BUCKET", default="")
_default_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if HINDSIGHT_S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": HINDSIGHT_S3_BUCKET,
            # Empty means AWS itself; set it for MinIO, Ceph, Garage, R2 and the like.
            "endpoint_url": env.str("HINDSIGHT_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("HINDSIGHT_S3_REGION", default="") or None,
            # Unset, boto3 finds credentials itself (an instance role, AWS_* variables).
            "access_key": env.str("HINDSIGHT_S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("HINDSIGHT_S3_SECRET_KEY", default="") or None,
            "location": env.str("HINDSIGHT_S3_PREFIX", default=""),
            "default_acl": "private",
            "file_overwrite": False,
            # Path-style addressing (bucket in the path) is what most self-hosted stores speak.
            "addressing_style": env.str("HINDSIGHT_S3_ADDRESSING_STYLE", default="path"),
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development whitenoise serves straight from the finders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -------------------------------------------------------------------------------
# Headers, TLS behind a proxy and login throttling live in hindsight/settings/security.py.

# --- Email ----------------------------------------------------------------------------------
# EMAIL_URL=smtp+tls://user:pass@host:587 in production; the console in development.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hindsight@localhost")

# --- Logging --------------------------------------------------------------------------------
# LOG_FORMAT=json writes one JSON object a line (core.jsonlog), for a log collector; the default
# is JSON when DEBUG is off and plain text in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Each line names the request it was written for (core.request_id), so one request's lines
    # can be found among many; "-" outside a request (a JSON line then has no request_id).
    "filters": {"request_id": {"()": "core.request_id.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.jsonlog.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Celery swaps the root logger's handlers for its own text format unless told not to; with JSON
# logs the worker and beat keep ours, so every process writes the same lines.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
