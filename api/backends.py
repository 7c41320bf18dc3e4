"""Logging in to pages: Django's model backend, except that a service account never logs in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

from api.models import ServiceAccount


class PeopleOnlyBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # A service account's credentials are its tokens; a password set on it by mistake in
        # the admin must not open the pages. Checked at login only, not on every request.
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and ServiceAccount.objects.filter(user_id=user.pk).exists():
            return None
        return user
