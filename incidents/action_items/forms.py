"""Forms of the action items page: its filters, and the inline owner, due date and priority.

They validate only; the view hands the cleaned data to incidents.action_items.selectors and
incidents.postmortem.services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from incidents.action_items.selectors import OPEN_ITEM_STATUSES
from incidents.models import ActionItem, Horizon
from incidents.models.incident import REFERENCE_RE

# The status filter's choices, each standing for the statuses it shows (None: every status).
STATUS_FILTERS: dict[str, list[str] | None] = {
    "open": OPEN_ITEM_STATUSES,
    "done": [ActionItem.Status.DONE],
    "all": None,
}
STATUS_FILTER_DEFAULT = "open"


def assignable_owners() -> QuerySet[User]:
    """The people an item can be given to: active users, by name. Inactive owners stay put."""
    user_model = get_user_model()
    return user_model.objects.filter(is_active=True).order_by(user_model.USERNAME_FIELD)


class ActionItemFilterForm(forms.Form):
    """The page's GET filters. Every field is optional; an invalid one is reported and ignored."""

    mine = forms.BooleanField(required=False, label="Mine")
    overdue = forms.BooleanField(required=False, label="Overdue")
    due_this_week = forms.BooleanField(required=False, label="Due this week")
    blocking = forms.BooleanField(required=False, label="Blocks deployments")
    horizon = forms.ChoiceField(
        required=False, choices=[("", "Any horizon"), *Horizon.choices], label="Horizon"
    )
    incident = forms.CharField(
        required=False,
        max_length=20,
        label="Incident",
        widget=forms.TextInput(attrs={"placeholder": "INC-7", "size": 8}),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("open", "Open and in progress"),
            ("done", "Done"),
            ("all", "All"),
        ],
        label="Status",
    )

    def clean_incident(self) -> int | None:
        value = self.cleaned_data["incident"].strip()
        if not value:
            return None
        match = REFERENCE_RE.match(value)
        if not match:
            raise ValidationError("Enter an incident reference such as INC-7.", code="invalid")
        return int(match.group(1))

    def clean_status(self) -> str:
        return self.cleaned_data["status"] or STATUS_FILTER_DEFAULT

    def valid_filters(self) -> dict[str, Any]:
        """The cleaned value of every field that validated, and the default of each that didn't.

        The page always shows a list: a bad value in one filter must not hide the others.
        """
        self.is_valid()
        defaults = {
            "mine": False,
            "overdue": False,
            "due_this_week": False,
            "blocking": False,
            "horizon": "",
            "incident": None,
            "status": STATUS_FILTER_DEFAULT,
        }
        return {name: self.cleaned_data.get(name, default) for name, default in defaults.items()}


class ActionItemAssignForm(forms.Form):
    """Owner, due date and priority of one item, as its row's controls post them.

    Each control posts on its own, so a field absent from the data is not part of the form:
    changing the priority never touches the owner (who may, for instance, be an inactive user
    that the owner select cannot offer).
    """

    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Nobody"
    )
    # ISO only: it is what <input type="date"> sends, and "01/02/2026" means two different days
    # to two different readers.
    due_date = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a real date as YYYY-MM-DD."},
    )
    priority = forms.ChoiceField(choices=ActionItem.Priority.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)  # as declared above
        owner.queryset = assignable_owners()
        for name in list(self.fields):
            if name not in self.data:
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.fields:
            raise ValidationError("Nothing to change.", code="empty")
        return cleaned
