"""The endpoint's form, for the admins' page and the Django admin alike."""

from __future__ import annotations

from typing import Any

from django import forms

from feed.kinds import EventKind
from incidents.communications.forms import WebhookEndpointForm as _BaseEndpointForm
from incidents.models.webhooks import COMMUNICATION_SENT

# How the checkboxes are grouped: by what the event is about, in the feed's own order.
SUBJECTS = {
    "incident": "Incidents",
    "action_item": "Action items",
    "deployment": "Deployments",
    "gate": "The deployment gate",
    "change": "Changes",
    "message": "Messages",
}


def event_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The kinds an endpoint can follow, grouped by subject, for grouped checkboxes."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind in EventKind:
        label = SUBJECTS.get(kind.subject, kind.subject.replace("_", " ").capitalize())
        groups.setdefault(label, []).append((kind.value, f"{kind.label} ({kind.value})"))
    groups.setdefault(SUBJECTS["message"], []).append(
        (COMMUNICATION_SENT, f"Communication sent, the original payload ({COMMUNICATION_SENT})")
    )
    return list(groups.items())


class WebhookEndpointForm(_BaseEndpointForm):
    events = forms.MultipleChoiceField(
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The events POSTed to it. communication.sent is the payload sent "
        "communications had before every event was delivered; new receivers follow "
        "message.sent instead. With none ticked it gets only test pings.",
    )

    class Meta(_BaseEndpointForm.Meta):
        fields = ["name", "url", "events", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["url"].label = "URL"
        self.fields["active"].help_text = "Switched off, it gets no events (test pings still go)."
        if self.instance.pk is None:
            # A ModelForm takes no initial values from a new row: tick what the model defaults to.
            self.initial.setdefault("events", self.instance.events)
            self.initial.setdefault("active", self.instance.active)

    def event_groups(self) -> list[tuple[str, list[Any]]]:
        """The events' checkboxes by subject, for a fieldset each: the widget's own grouped
        markup would give them one label for all and no legends."""
        options = iter(self["events"])
        return [(label, [next(options) for _ in kinds]) for label, kinds in event_choices()]
