"""Security headers: a Content-Security-Policy on every answer, HTML or not, and the production
settings (DEBUG off) that Django's deployment checks ask for."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.tokens import token_create
from tests.factories import IncidentFactory, user_with_role

ROOT = Path(__file__).resolve().parent.parent.parent

REQUIRED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def directives(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    parsed = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        parsed[name] = value.strip()
    return parsed


def assert_strict_policy(response) -> None:
    found = directives(response)
    for name, value in REQUIRED.items():
        assert found.get(name) == value, f"{name}: {found.get(name)!r}"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


@pytest.mark.django_db
class TestContentSecurityPolicy:
    @pytest.mark.parametrize("path", ["/login/", "/status/", "/status/history/"])
    def test_public_pages_carry_the_strict_policy(self, path):
        response = Client().get(path)
        assert response.status_code == 200
        assert_strict_policy(response)

    def test_the_kept_status_page_answered_before_the_view_carries_it_too(self):
        # The first answer builds and keeps the page; the second comes from KeptStatusPages,
        # which answers before the rest of the middleware (the CSP's is outside it).
        client = Client()
        first, kept = client.get("/status/"), client.get("/status/")
        assert kept.content == first.content
        assert_strict_policy(first)
        assert_strict_policy(kept)

    @pytest.mark.parametrize(
        "path", ["/status/feed.atom", "/status/feed.rss", "/status/summary.json"]
    )
    def test_feeds_carry_the_policy_too(self, path):
        response = Client().get(path)
        assert response.status_code == 200
        assert_strict_policy(response)

    @pytest.mark.parametrize("path", ["/incidents/", "/settings/tokens/", "/api/docs/", "/admin/"])
    def test_signed_in_pages_carry_the_strict_policy(self, path):
        client = Client()
        client.force_login(user_with_role("admin", is_staff=True, is_superuser=True))
        response = client.get(path)
        assert response.status_code == 200
        assert_strict_policy(response)

    def test_the_incident_page_carries_the_strict_policy(self):
        incident = IncidentFactory()
        client = Client()
        client.force_login(user_with_role("viewer"))
        response = client.get(f"/incidents/{incident.reference}/")
        assert response.status_code == 200
        assert_strict_policy(response)

    def test_api_answers_and_problems_carry_the_policy(self):
        _token, raw = token_create(user=user_with_role("viewer"), name="CI")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert_strict_policy(client.get("/api/v1/incidents"))
        problem = APIClient().get("/api/v1/incidents")
        assert problem.status_code == 401
        assert_strict_policy(problem)

    def test_pages_hold_no_inline_script_or_style(self):
        client = Client()
        client.force_login(user_with_role("editor"))
        incident = IncidentFactory()
        for path in ["/incidents/", "/settings/tokens/", f"/incidents/{incident.reference}/"]:
            html = client.get(path).content.decode()
            assert "<script>" not in html, path
            assert ' style="' not in html, path
            assert " onclick=" not in html, path


SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "hsts": s.SECURE_HSTS_SECONDS,
    "proxy_header": s.SECURE_PROXY_SSL_HEADER,
    "session_secure": s.SESSION_COOKIE_SECURE,
    "csrf_secure": s.CSRF_COOKIE_SECURE,
    "log_format": s.LOG_FORMAT,
}))
"""


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without what pytest and its plugins set for Django (the
    test settings, DJANGO_ALLOW_ASYNC_UNSAFE) or the test servers' URLs."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    clean["DJANGO_SETTINGS_MODULE"] = "hindsight.settings"
    clean.update(env)
    return clean


def run(code_or_args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=ROOT,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "hindsight.example.org",
}


class TestProductionSettings:
    def test_debug_off_turns_on_hsts_the_https_redirect_secure_cookies_and_json_logs(self):
        shown = json.loads(run(["-c", SHOW], **PRODUCTION).stdout.splitlines()[-1])
        assert shown == {
            "ssl_redirect": True,
            "hsts": 365 * 24 * 3600,
            "proxy_header": None,
            "session_secure": True,
            "csrf_secure": True,
            "log_format": "json",
        }

    def test_the_proxy_header_is_trusted_only_when_behind_a_tls_proxy_is_set(self):
        shown = json.loads(
            run(["-c", SHOW], **PRODUCTION, BEHIND_TLS_PROXY="true").stdout.splitlines()[-1]
        )
        assert shown["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]

    def test_the_development_default_serves_plain_http(self):
        shown = json.loads(run(["-c", SHOW]).stdout.splitlines()[-1])
        assert shown["ssl_redirect"] is False
        assert shown["hsts"] == 0
        assert shown["session_secure"] is False
        assert shown["log_format"] == "text"

    def test_deploy_checks_pass_with_the_production_settings(self):
        result = subprocess.run(
            ["bash", "scripts/check_deploy.sh"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=clean_environment(PYTHON=sys.executable),
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert "no issues" in result.stdout

    def test_deploy_checks_fail_ci_when_a_production_setting_weakens(self):
        result = run(
            ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            **PRODUCTION,
            SECURE_HSTS_SECONDS="0",
        )
        assert result.returncode != 0
        assert "security.W004" in result.stderr


class TestPlainHttpInDevelopment:
    @pytest.mark.django_db
    def test_a_page_over_http_is_answered_not_redirected(self):
        response = Client().get("/login/")
        assert response.status_code == 200
        assert "Strict-Transport-Security" not in response.headers
