"""Security settings, grouped: cookies and headers, the Content-Security-Policy, TLS behind a
proxy, and login throttling.

Production is DEBUG=false (with SECRET_KEY and ALLOWED_HOSTS): HSTS, the redirect to HTTPS and
secure cookies then default on, so `manage.py check --deploy --fail-level WARNING` passes with
nothing else set (scripts/check_deploy.sh runs it in `make test`). The development default, DEBUG
on, serves plain HTTP as before. The README's "Running in production" lists the variables.
"""

from __future__ import annotations

from datetime import timedelta

from csp.constants import NONE, SELF

from hindsight.settings.base import DEBUG, env

# --- Cookies and headers --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send the X-CSRFToken header.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# Scripts and styles come from our own static files only: no inline <script>, no on* attribute,
# no style="" (they moved to classes in static/css), no eval. htmx's own indicator <style> is
# off (base.html's htmx-config) and its rules are in hindsight.css. img-src allows data: for the
# API docs' icons; a user's Markdown images are served by Hindsight itself (attachments).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}

# --- TLS, behind a proxy that terminates it ---------------------------------------------------
# Only behind a proxy that sets X-Forwarded-Proto itself (and drops a client's own): otherwise any
# client could claim HTTPS. It also makes login throttling read the client's address from the
# proxy's X-Forwarded-For (core.login_throttle.client_address).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# How many proxies append to X-Forwarded-For in front of Hindsight (1: one nginx or Caddy).
TLS_PROXY_COUNT = env.int("TLS_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Paths answered over plain HTTP too (regular expressions), e.g. a load balancer's health check.
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[])
# A year, Django's check --deploy's advice. Once a browser has seen it, it refuses plain HTTP to
# this host for that long: start lower (SECURE_HSTS_SECONDS=3600) on a first deployment.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # Preloading is a promise about a whole domain, made by its owner on the browsers' list, not
    # something a self-hosted app can decide for every team that runs it; the flag is opt-in.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Login throttling (django-axes) ---------------------------------------------------------
# Wrong passwords lock that user name from that address only: a colleague elsewhere who types
# someone's name cannot lock them out, and nobody can lock every name from one address. API
# tokens never go through authenticate(), so they are not counted nor locked.
AUTHENTICATION_BACKENDS = [
    "core.login_throttle.ThrottledLoginBackend",
    # People only: a service account holds tokens and never signs in to pages.
    "api.backends.PeopleOnlyBackend",
]
AXES_ENABLED = env.bool("HINDSIGHT_LOGIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = env.int("HINDSIGHT_LOGIN_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HINDSIGHT_LOGIN_LOCK_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A lock lasts its minutes from the lockout; trying again meanwhile does not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "core.login_throttle.client_address"
AXES_LOCKOUT_CALLABLE = "core.login_throttle.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# Each failure is a row (admin: Axes, access failures) and a log line (logger "axes"); successful
# sign-ins are not recorded row by row.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_DISABLE_ACCESS_LOG = True
# The user name and address are what an administrator needs to read a lockout in the log (they
# are in the access log anyway); the password typed is always masked by django-axes.
AXES_SENSITIVE_PARAMETERS: list[str] = []
