from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from api.models import ApiToken
from core.roles import Role


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text='What it is for, e.g. "CI deploys".')
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires in (days)",
    )

    def __init__(self, *args: Any, can_write: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.can_write = can_write
        days = settings.HINDSIGHT_TOKEN_MAX_DAYS
        self.fields["expires_in_days"].help_text = (
            f"At most {days}; leave empty for {days} days."
            if days
            else "Leave empty for a token that never expires."
        )

    def clean_scope(self) -> str:
        scope = self.cleaned_data["scope"]
        if scope == ApiToken.Scope.WRITE and not self.can_write:
            raise forms.ValidationError("Your role can only read, so your tokens can only read.")
        return scope


class ServiceAccountForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        label="Name",
        help_text='One word, e.g. "ci-deploys": letters, digits and @ . + - _ only.',
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text="What its tokens may do, as for a person with this role.",
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="What uses it, and who to ask about it."
    )
