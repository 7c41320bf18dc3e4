"""Forms of the action items page: its filters, the inline owner, due date and priority, and
what the status controls post (also from the incident page).

They validate only; the view hands the cleaned data to incidents.action_items.selectors and
incidents.postmortem.services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.forms import PersonField
from incidents.action_items.selectors import OPEN_ITEM_STATUSES
from incidents.models import ActionItem, Horizon
from incidents.models.incident import REFERENCE_RE

# The status filter's choices, each standing for the statuses it shows (None: every status).
STATUS_FILTERS: dict[str, list[str] | None] = {
    "open": OPEN_ITEM_STATUSES,
    "done": [ActionItem.Status.DONE],
    "wont_do": [ActionItem.Status.WONT_DO],
    "all": None,
}
STATUS_FILTER_DEFAULT = "open"


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
            ("wont_do", "Won't do"),
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
    that the owner field would refuse). The owner is typed as a username; blank is nobody.
    """

    owner = PersonField(required=False, label="Owner")
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
        for name in list(self.fields):
            if name not in self.data:
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.fields:
            raise ValidationError("Nothing to change.", code="empty")
        return cleaned


class ActionItemCloseForm(forms.Form):
    """What a closing control posts besides the item: the reason for a won't do, and how to close
    the item's open steps when the person was asked (the services refuse to leave them open)."""

    reason = forms.CharField(
        required=False,
        max_length=ActionItem._meta.get_field("closed_reason").max_length,
        label="Why won't it be done?",
    )
    close_children = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Ask first"),
            (ActionItem.Status.DONE, "Close them as done"),
            (ActionItem.Status.WONT_DO, "Close them as won't do"),
        ],
    )


class ActionItemStatusForm(ActionItemCloseForm):
    """The incident page's controls post the status they move the item to."""

    to = forms.ChoiceField(choices=ActionItem.Status.choices)
