from __future__ import annotations

from typing import Any

from django import forms

from api.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text='What it is for, e.g. "CI deploys".')
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires in (days)",
        help_text="Leave empty for a token that never expires.",
    )

    def __init__(self, *args: Any, can_write: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.can_write = can_write

    def clean_scope(self) -> str:
        scope = self.cleaned_data["scope"]
        if scope == ApiToken.Scope.WRITE and not self.can_write:
            raise forms.ValidationError("Your role can only read, so your tokens can only read.")
        return scope
