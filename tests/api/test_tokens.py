"""Personal API tokens: made once, kept as a hash, scoped, expiring, revocable."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import token_create, token_hash
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def editor():
    return user_with_role("editor")


class TestStorage:
    def test_only_the_hash_and_a_prefix_are_stored(self, editor):
        token, raw = token_create(user=editor, name="CI", scope="write")
        row = ApiToken.objects.values().get(pk=token.pk)
        assert raw not in str(row)
        assert row["key_hash"] == token_hash(raw)
        assert raw.startswith(row["prefix"])
        assert len(row["prefix"]) < len(raw) / 3


class TestBearerAuthentication:
    def test_a_valid_token_authenticates_and_marks_last_use(self, editor):
        token, raw = token_create(user=editor, name="CI")
        assert bearer(raw).get(TOKENS).status_code == 200
        token.refresh_from_db()
        assert token.last_used_at is not None

    @pytest.mark.parametrize("header", ["Bearer hst_nope", "Bearer", "Bearer a b", "Bearer x"])
    def test_bad_credentials_get_401_problem(self, header):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get(TOKENS)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "urn:hindsight:problem:authentication-failed"
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_an_expired_token_stops_working(self, editor):
        _token, raw = token_create(user=editor, name="short", expires_in_days=1)
        with time_machine.travel(timezone.now() + timedelta(days=2)):
            assert bearer(raw).get(TOKENS).status_code == 401

    def test_a_revoked_token_stops_working(self, editor):
        token, raw = token_create(user=editor, name="CI", scope="write")
        assert bearer(raw).delete(f"{TOKENS}/{token.pk}").status_code == 204
        assert bearer(raw).get(TOKENS).status_code == 401
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_no_credentials_is_401_not_403(self):
        response = APIClient().get(TOKENS)
        assert response.status_code == 401
        assert response.json()["type"] == "urn:hindsight:problem:not-authenticated"


class TestTokensOverTheApi:
    def test_created_once_then_only_the_prefix_shows(self, editor):
        client = APIClient()
        client.force_authenticate(editor)
        made = client.post(TOKENS, {"name": "bot", "scope": "write"}, format="json")
        assert made.status_code == 201
        raw = made.json()["token"]
        listed = client.get(TOKENS).json()["results"]
        assert raw not in str(listed)
        assert listed[0]["prefix"] == raw[: len(listed[0]["prefix"])]

    def test_a_read_token_cannot_mint_a_write_token(self, editor):
        _token, raw = token_create(user=editor, name="read")
        response = bearer(raw).post(TOKENS, {"name": "escalate", "scope": "write"}, format="json")
        assert response.status_code == 403
        assert ApiToken.objects.count() == 1

    def test_a_viewer_cannot_make_a_write_token(self):
        client = APIClient()
        client.force_authenticate(user_with_role("viewer"))
        response = client.post(TOKENS, {"name": "x", "scope": "write"}, format="json")
        assert response.status_code == 400
        assert "scope" in response.json()["errors"]

    def test_token_endpoints_are_throttled(self, editor, monkeypatch):
        from rest_framework.throttling import ScopedRateThrottle

        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"tokens": "3/min"})
        client = APIClient()
        client.force_authenticate(editor)
        codes = [client.get(TOKENS).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3] == 429


class TestCommand:
    def test_prints_a_working_token_once(self, editor):
        out = io.StringIO()
        call_command(
            "create_api_token", editor.username, "--scope", "write", "--expires-days", "30",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
        raw = out.getvalue().strip()
        token = ApiToken.objects.get(key_hash=token_hash(raw))
        assert token.expires_at is not None
        assert token.scope == "write"
        assert token.expires_at - timezone.now() > timedelta(days=29)
        assert bearer(raw).get(TOKENS).status_code == 200

    def test_unknown_user_is_an_error(self):
        with pytest.raises(CommandError):
            call_command("create_api_token", "nobody", stdout=io.StringIO())


class TestTokensPage:
    def test_the_page_shows_a_new_token_once(self, client, editor):
        client.force_login(editor)
        made = client.post(reverse("tokens"), {"name": "laptop", "scope": "read"})
        token = ApiToken.objects.get()
        html = made.content.decode()
        assert made.status_code == 200
        assert "shown only this once" in html
        again = client.get(reverse("tokens")).content.decode()
        assert token.prefix in again
        assert "shown only this once" not in again

    def test_a_viewer_asking_for_write_scope_gets_an_error_beside_the_field(self, client):
        client.force_login(user_with_role("viewer"))
        response = client.post(reverse("tokens"), {"name": "x", "scope": "write"})
        assert response.status_code == 422
        assert 'id="id_scope_error"' in response.content.decode()
        assert not ApiToken.objects.exists()

    def test_revoking_from_the_page(self, client, editor):
        token, _raw = token_create(user=editor, name="old")
        client.force_login(editor)
        client.post(reverse("token_revoke", args=[token.pk]))
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_someone_elses_token_cannot_be_revoked(self, client, editor):
        token, _raw = token_create(user=user_with_role("admin"), name="theirs")
        client.force_login(editor)
        assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 404

    def test_the_page_needs_a_login(self, client):
        assert client.get(reverse("tokens")).status_code == 302


class TestProblems:
    def test_unknown_api_url_is_a_problem(self, editor):
        client = APIClient()
        client.force_authenticate(editor)
        response = client.get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "urn:hindsight:problem:not-found"

    def test_malformed_json_is_a_400_problem(self, editor):
        client = APIClient()
        client.force_authenticate(editor)
        response = client.post(TOKENS, "{nope", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["type"] == "urn:hindsight:problem:malformed-request"

    def test_form_posts_are_refused(self, editor):
        client = APIClient()
        client.force_authenticate(editor)
        response = client.post(TOKENS, {"name": "a"}, format="multipart")
        assert response.status_code == 415
        assert response.json()["type"] == "urn:hindsight:problem:unsupported-media-type"

    def test_validation_errors_list_the_fields(self, editor):
        client = APIClient()
        client.force_authenticate(editor)
        response = client.post(TOKENS, {"scope": "root"}, format="json")
        body = response.json()
        assert response.status_code == 400
        assert body["type"] == "urn:hindsight:problem:validation-error"
        assert set(body["errors"]) == {"name", "scope"}
        assert body["status"] == 400
        assert body["instance"] == "urn:hindsight:request:" + response["X-Request-Id"]


class TestHostileBodies:
    @pytest.fixture
    def client(self, editor):
        client = APIClient()
        client.force_authenticate(editor)
        return client

    def test_absurdly_nested_json_is_a_400_not_a_crash(self, client):
        body = "[" * 100_000 + "]" * 100_000
        response = client.post(TOKENS, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["type"] == "urn:hindsight:problem:malformed-request"

    def test_an_unknown_key_that_is_not_valid_unicode_is_named_safely(self, client):
        response = client.post(
            TOKENS, '{"name": "x", "\\udfff": 1}', content_type="application/json"
        )
        assert response.status_code == 400
        assert "\\udfff" in response.json()["errors"]

    def test_an_oversized_body_is_a_413_problem(self, client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = client.post(
            TOKENS,
            '{"name": "' + "x" * 2000 + '"}',
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="big-1",
        )
        assert response.status_code == 413
        assert response["Content-Type"] == "application/problem+json"
