"""Login throttling: wrong passwords lock one user name from one address for a while."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from api.tokens import token_create
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "pw-for-tests"
HOME = "10.1.1.1"
ELSEWHERE = "10.2.2.2"


@pytest.fixture(autouse=True)
def _small_limits(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def sign_in(username: str, password: str, *, address: str = HOME, forwarded: str = ""):
    client = Client(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post("/login/", {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def lock(username: str, *, address: str = HOME):
    response = None
    for _ in range(3):
        response = sign_in(username, "wrong-guess", address=address)
    return response


class TestLockout:
    def test_wrong_passwords_below_the_limit_only_say_the_password_is_wrong(self):
        user_with_role("viewer", username="ada")
        response = sign_in("ada", "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
        assert signed_in(sign_in("ada", PASSWORD))

    def test_the_limit_locks_the_name_with_a_clear_message_beside_the_form(self):
        user_with_role("viewer", username="ada")
        response = lock("ada")
        assert response.status_code == 429
        html = response.content.decode()
        assert 'role="alert"' in html
        assert "Too many wrong passwords for ada from your address" in html
        assert "Try again in 15 minutes" in html
        assert 'value="ada"' in html  # the name is kept in the field

    def test_even_the_right_password_is_refused_while_locked(self):
        user_with_role("viewer", username="ada")
        lock("ada")
        response = sign_in("ada", PASSWORD)
        assert response.status_code == 429
        assert not signed_in(response)

    def test_the_lock_ends_after_the_cool_off(self):
        user_with_role("viewer", username="ada")
        lock("ada")
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            assert signed_in(sign_in("ada", PASSWORD))

    def test_a_success_before_the_limit_starts_the_count_again(self):
        user_with_role("viewer", username="ada")
        sign_in("ada", "wrong")
        sign_in("ada", "wrong")
        assert signed_in(sign_in("ada", PASSWORD))
        sign_in("ada", "wrong")
        sign_in("ada", "wrong")
        assert signed_in(sign_in("ada", PASSWORD))

    def test_the_admin_login_is_throttled_too(self):
        user_with_role("admin", username="root", is_staff=True)
        lock("root")
        response = Client(REMOTE_ADDR=HOME).post(
            "/admin/login/", {"username": "root", "password": PASSWORD}
        )
        assert response.status_code == 429


class TestNobodyLocksOutAColleague:
    def test_a_lock_from_another_address_does_not_stop_the_person_at_theirs(self):
        user_with_role("viewer", username="ada")
        lock("ada", address=ELSEWHERE)
        assert sign_in("ada", PASSWORD, address=ELSEWHERE).status_code == 429
        assert signed_in(sign_in("ada", PASSWORD, address=HOME))

    def test_a_lock_on_one_name_leaves_other_names_at_that_address_alone(self):
        user_with_role("viewer", username="ada")
        user_with_role("editor", username="grace")
        lock("ada")
        assert signed_in(sign_in("grace", PASSWORD))

    def test_api_tokens_keep_working_from_a_locked_address(self):
        user = user_with_role("viewer", username="ada")
        _token, raw = token_create(user=user, name="CI")
        lock("ada")
        client = APIClient(REMOTE_ADDR=HOME)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert client.get("/api/v1/incidents").status_code == 200


class TestBehindAProxy:
    def test_the_address_is_the_one_the_proxy_appended_not_one_the_client_claims(self, settings):
        settings.BEHIND_TLS_PROXY = True
        settings.TLS_PROXY_COUNT = 1
        user_with_role("viewer", username="ada")
        # Every request comes from the proxy; the attacker forges a left-hand entry each time.
        for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
            sign_in("ada", "wrong", address="127.0.0.1", forwarded=f"{forged}, {ELSEWHERE}")
        locked = sign_in("ada", PASSWORD, address="127.0.0.1", forwarded=ELSEWHERE)
        assert locked.status_code == 429
        assert signed_in(sign_in("ada", PASSWORD, address="127.0.0.1", forwarded=HOME))


class TestRecord:
    def test_failures_and_the_lockout_are_logged_with_name_and_address(self, caplog):
        user_with_role("viewer", username="ada")
        with caplog.at_level(logging.INFO):
            lock("ada")
        lines = [r.getMessage() for r in caplog.records]
        assert any("Sign-in locked for user name 'ada' from 10.1.1.1" in line for line in lines)
        failures = [line for line in lines if "login failure by" in line]
        assert len(failures) == 3, lines
        assert all('"ada"' in line and "10.1.1.1" in line for line in failures)
        assert not any("wrong-guess" in line for line in lines)  # never the password typed

    def test_commands_and_scripts_that_check_a_password_without_a_request_still_work(self):
        from django.contrib.auth import authenticate

        user = user_with_role("viewer", username="ada")
        assert authenticate(username="ada", password=PASSWORD) == user


def test_limits_come_from_the_environment() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_ENABLED)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="hindsight.settings",
        HINDSIGHT_LOGIN_FAILURES="7",
        HINDSIGHT_LOGIN_LOCK_MINUTES="30",
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.split()[-3:] == ["7", "1800.0", "True"], out.stderr
