"""A token made with a token records its parent, never outlives it and dies with it; a setting
caps every new token's life; service accounts hold tokens and never log in."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken, ServiceAccount
from api.tokens import service_account_create, token_create, token_revoke
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def make_child(raw: str, **body: object) -> dict:
    response = bearer(raw).post(TOKENS, {"name": "child", "scope": "write", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def editor() -> User:
    return user_with_role("editor")


class TestFamily:
    def test_a_token_made_with_a_token_records_its_parent(self, editor):
        parent, raw = token_create(user=editor, name="parent", scope="write")
        child = make_child(raw)
        assert child["parent"] == parent.pk
        assert ApiToken.objects.get(pk=child["id"]).parent == parent

    def test_a_token_made_in_the_page_has_no_parent(self, client, editor):
        client.force_login(editor)
        client.post(reverse("tokens"), {"name": "laptop", "scope": "read"})
        assert ApiToken.objects.get().parent is None

    def test_a_child_token_dies_with_its_parent_and_so_does_a_grandchild(self, editor):
        parent, raw = token_create(user=editor, name="parent", scope="write")
        child = make_child(raw)
        grandchild = make_child(child["token"])
        assert bearer(grandchild["token"]).get(TOKENS).status_code == 200

        assert bearer(raw).delete(f"{TOKENS}/{parent.pk}").status_code == 204

        for secret in (raw, child["token"], grandchild["token"]):
            assert bearer(secret).get(TOKENS).status_code == 401
        assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()

    def test_revoking_a_child_leaves_its_parent_and_siblings_alone(self, editor):
        _parent, raw = token_create(user=editor, name="parent", scope="write")
        first, second = make_child(raw), make_child(raw)
        token_revoke(token=ApiToken.objects.get(pk=first["id"]))
        assert bearer(raw).get(TOKENS).status_code == 200
        assert bearer(second["token"]).get(TOKENS).status_code == 200
        assert bearer(first["token"]).get(TOKENS).status_code == 401

    def test_a_child_expires_with_its_parent_when_no_expiry_is_asked(self, editor):
        parent, raw = token_create(user=editor, name="parent", scope="write", expires_in_days=5)
        child = make_child(raw)
        assert ApiToken.objects.get(pk=child["id"]).expires_at == parent.expires_at
        with time_machine.travel(timezone.now() + timedelta(days=6)):
            assert bearer(child["token"]).get(TOKENS).status_code == 401

    def test_asking_a_child_to_outlive_its_parent_is_a_400_naming_the_field(self, editor):
        _parent, raw = token_create(user=editor, name="parent", scope="write", expires_in_days=5)
        response = bearer(raw).post(
            TOKENS, {"name": "x", "scope": "read", "expires_in_days": 30}, format="json"
        )
        assert response.status_code == 400
        assert "outlive" in response.json()["errors"]["expires_in_days"][0]
        assert ApiToken.objects.count() == 1

    def test_a_parent_without_expiry_caps_its_child_at_the_setting(self, editor, settings):
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 0
        _parent, raw = token_create(user=editor, name="forever", scope="write")
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 90
        child = ApiToken.objects.get(pk=make_child(raw)["id"])
        assert child.expires_at is not None
        assert timedelta(days=89) < child.expires_at - timezone.now() <= timedelta(days=90)

    def test_narrow_tokens_cannot_make_tokens(self, editor):
        for scope in ("read", "gate", "deployments"):
            _token, raw = token_create(user=editor, name=scope, scope=scope)
            response = bearer(raw).post(TOKENS, {"name": "x", "scope": "gate"}, format="json")
            assert response.status_code == 403
        assert ApiToken.objects.filter(parent__isnull=False).count() == 0


class TestLifetimeCap:
    def test_new_tokens_without_an_expiry_get_the_longest_allowed(self, editor, settings):
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 30
        token, _raw = token_create(user=editor, name="x")
        assert token.expires_at is not None
        assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)

    def test_asking_for_longer_than_the_cap_is_refused_not_shortened(self, editor, settings):
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 30
        with pytest.raises(ValidationError) as refused:
            token_create(user=editor, name="x", expires_in_days=31)
        assert "at most 30 days" in refused.value.message_dict["expires_in_days"][0]

    def test_zero_means_no_cap(self, editor, settings):
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 0
        token, _raw = token_create(user=editor, name="x")
        assert token.expires_at is None

    def test_the_page_shows_the_cap_error_beside_the_field(self, client, editor, settings):
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 30
        client.force_login(editor)
        response = client.post(
            reverse("tokens"), {"name": "x", "scope": "read", "expires_in_days": "400"}
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert 'id="id_expires_in_days_error"' in html
        assert "at most 30 days" in html
        assert not ApiToken.objects.exists()

    def test_the_command_refuses_past_the_cap(self, editor, settings):
        settings.HINDSIGHT_TOKEN_MAX_DAYS = 30
        with pytest.raises(CommandError, match="at most 30 days"):
            call_command(
                "create_api_token", editor.username, "--expires-days", "60", stdout=io.StringIO()
            )


@pytest.fixture
def admin_user() -> User:
    return user_with_role("admin")


class TestServiceAccounts:
    def test_an_admin_makes_a_service_account_and_its_token_in_the_page(self, client, admin_user):
        client.force_login(admin_user)
        made = client.post(
            reverse("service_accounts"),
            {"username": "ci-deploys", "role": "admin", "description": "The deploy pipeline"},
        )
        account = ServiceAccount.objects.get()
        assert made.status_code == 302
        assert made["Location"] == reverse("service_account_tokens", args=[account.pk])
        assert list(account.user.groups.values_list("name", flat=True)) == ["admin"]
        assert not account.user.has_usable_password()

        page = client.post(
            reverse("service_account_tokens", args=[account.pk]),
            {"name": "pipeline", "scope": "deployments"},
        )
        assert page.status_code == 200
        assert "shown only this once" in page.content.decode()
        token = ApiToken.objects.get()
        assert token.user == account.user
        assert token.scope == "deployments"

    def test_a_service_account_token_acts_with_the_account_role(self, admin_user):
        account = service_account_create(username="ci-gate", role="viewer", created_by=admin_user)
        _token, raw = token_create(user=account.user, name="gate", scope="read")
        assert bearer(raw).get("/api/v1/incidents").status_code == 200
        _token, write = token_create(user=account.user, name="w", scope="write")
        response = bearer(write).post("/api/v1/incidents", {"title": "x"}, format="json")
        assert response.status_code == 403

    def test_a_service_account_cannot_log_in_even_with_a_password(self, client, admin_user):
        account = service_account_create(username="robot", role="editor", created_by=admin_user)
        account.user.set_password("a long enough password 42")
        account.user.save()
        response = client.post(
            reverse("login"), {"username": "robot", "password": "a long enough password 42"}
        )
        assert response.status_code == 200  # the form again, with its error
        assert "_auth_user_id" not in client.session

    def test_a_person_still_logs_in(self, client):
        person = user_with_role("viewer", username="person")
        person.set_password("a long enough password 42")
        person.save()
        client.post(
            reverse("login"), {"username": "person", "password": "a long enough password 42"}
        )
        assert client.session["_auth_user_id"] == str(person.pk)

    def test_an_editor_cannot_manage_service_accounts(self, client, editor):
        client.force_login(editor)
        assert client.get(reverse("service_accounts")).status_code == 403
        response = client.post(reverse("service_accounts"), {"username": "x", "role": "admin"})
        assert response.status_code == 403
        assert not ServiceAccount.objects.exists()

    def test_a_taken_name_is_an_error_beside_the_field(self, client, admin_user):
        client.force_login(admin_user)
        response = client.post(
            reverse("service_accounts"), {"username": admin_user.username, "role": "viewer"}
        )
        assert response.status_code == 422
        assert 'id="id_username_error"' in response.content.decode()

    def test_an_admin_revokes_a_service_account_token_from_its_page(self, client, admin_user):
        account = service_account_create(username="ci", role="viewer", created_by=admin_user)
        token, _raw = token_create(user=account.user, name="old")
        client.force_login(admin_user)
        response = client.post(reverse("token_revoke", args=[token.pk]))
        assert response["Location"] == reverse("service_account_tokens", args=[account.pk])
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_an_editor_cannot_revoke_a_service_account_token(self, client, editor, admin_user):
        account = service_account_create(username="ci", role="viewer", created_by=admin_user)
        token, _raw = token_create(user=account.user, name="theirs")
        client.force_login(editor)
        assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 404

    def test_the_admin_makes_a_service_account(self, client):
        superuser = User.objects.create_superuser("root", "root@example.com", "x")
        client.force_login(superuser)
        response = client.post(
            reverse("admin:api_serviceaccount_add"),
            {"username": "nightly", "role": "viewer", "description": "Nightly report"},
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        account = ServiceAccount.objects.get()
        assert account.user.username == "nightly"
        assert account.created_by == superuser
        assert account.user.groups.get().name == "viewer"


class TestQueryBudgets:
    """The pages' queries do not grow with their rows: pinned at 1 row and at 50."""

    def queries(self, client, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def test_the_service_accounts_page(self, client, admin_user):
        client.force_login(admin_user)
        service_account_create(username="sa-0", role="viewer", created_by=admin_user)
        one = self.queries(client, reverse("service_accounts"))
        for i in range(1, 50):
            account = service_account_create(username=f"sa-{i}", role="editor", created_by=None)
            token_create(user=account.user, name="t")
        assert self.queries(client, reverse("service_accounts")) == one
        assert one <= 8

    def test_a_service_accounts_tokens_page(self, client, admin_user):
        client.force_login(admin_user)
        account = service_account_create(username="ci", role="viewer", created_by=admin_user)
        url = reverse("service_account_tokens", args=[account.pk])
        parent, _raw = token_create(user=account.user, name="t0")
        one = self.queries(client, url)
        for i in range(1, 50):
            token_create(user=account.user, name=f"t{i}", parent=parent if i % 2 else None)
        assert self.queries(client, url) == one
        assert one <= 10

    def test_your_tokens_page(self, client, editor):
        client.force_login(editor)
        token_create(user=editor, name="t0")
        one = self.queries(client, reverse("tokens"))
        for i in range(1, 50):
            token_create(user=editor, name=f"t{i}")
        assert self.queries(client, reverse("tokens")) == one
