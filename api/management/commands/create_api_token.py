from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.models import ApiToken
from api.tokens import token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ)
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--name", default="created with manage.py create_api_token")

    def handle(
        self,
        *args: Any,
        username: str,
        scope: str,
        expires_days: int | None,
        name: str,
        **options: Any,
    ) -> None:
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        try:
            _token, raw = token_create(
                user=user, name=name, scope=scope, expires_in_days=expires_days
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        # Only the token on stdout, so scripts can capture it; the advice goes to stderr.
        self.stdout.write(raw)
        self.stderr.write("Store it now: Hindsight keeps only its hash and cannot show it again.")
