"""Forms of the status page's side: a subscriber's address, a maintenance window, and the
components the page names with their groups."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from deployments.models import HealthCheck, Service
from incidents.models import Component, ComponentGroup, Maintenance, Subscriber
from incidents.postmortem.forms import DATETIME_INPUT, _limit_markdown
from incidents.statuspage.selectors import subscribable_components

EMAIL_MAX_LENGTH = Subscriber._meta.get_field("email").max_length


def _grouped_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    # Grouped as the status page groups them; CheckboxSelectMultiple renders each group as a
    # labelled list. Components on their own come last, under "Other".
    groups: dict[str, list[tuple[int, str]]] = {}
    for component in subscribable_components():
        label = component.group.name if component.group is not None else "Other"
        groups.setdefault(label, []).append((component.pk, component.name))
    return list(groups.items())


class ComponentChoiceForm(forms.Form):
    """Which components a subscriber hears about; none ticked is the whole page."""

    components = forms.TypedMultipleChoiceField(
        label="Only these components",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none to hear about everything on the status page.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["components"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = _grouped_choices()
        if not field.choices:
            # Nothing to choose from: the page is one thing, and so is the subscription.
            del self.fields["components"]

    def chosen(self) -> list[int]:
        return list(self.cleaned_data.get("components") or [])


class SubscribeForm(ComponentChoiceForm):
    field_order = ["email", "components"]
    email = forms.EmailField(
        label="Email address",
        max_length=EMAIL_MAX_LENGTH,
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address like name@example.com.",
            "max_length": f"That is too long for an email address: at most {EMAIL_MAX_LENGTH} "
            "characters.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
    )


class MaintenanceForm(forms.ModelForm):
    class Meta:
        model = Maintenance
        fields = ["title", "service", "starts_at", "ends_at", "description"]
        widgets = {"starts_at": DATETIME_INPUT, "ends_at": DATETIME_INPUT}
        labels = {"starts_at": "Starts at", "ends_at": "Ends at"}
        help_texts = {
            "title": "What the public status page shows, e.g. “Database upgrade”.",
            "description": "Markdown, shown on the public status page: what changes and what "
            "people may notice.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.fields["service"]
        assert isinstance(service, forms.ModelChoiceField)  # a relation's form field
        service.queryset = Service.objects.order_by("name")
        service.empty_label = "Everything"
        _limit_markdown(self, ("description",))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at:
            if ends_at <= starts_at:
                self.add_error("ends_at", "The window must end after it starts.")
            elif self.instance.pk is None and ends_at <= timezone.now():
                self.add_error(
                    "ends_at", "That window has already ended; there is nothing to announce."
                )
        return cleaned


class ComponentGroupForm(forms.ModelForm):
    class Meta:
        model = ComponentGroup
        fields = ["name", "order"]
        help_texts = {
            "name": "A heading on the status page, e.g. the name of a product.",
            "order": "Lower comes first.",
        }


class ComponentForm(forms.ModelForm):
    class Meta:
        model = Component
        fields = ["name", "group", "order", "health_checks", "follows_checks"]
        labels = {"health_checks": "Health checks watched", "follows_checks": "Follows its checks"}
        help_texts = {
            "name": "What users know it by, e.g. “Web” or “API”.",
            "order": "Lower comes first within its group.",
        }
        widgets = {"health_checks": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group = self.fields["group"]
        assert isinstance(group, forms.ModelChoiceField)  # a relation's form field
        group.queryset = ComponentGroup.objects.order_by("order", "name")
        group.empty_label = "None: shown on its own"
        checks = self.fields["health_checks"]
        assert isinstance(checks, forms.ModelMultipleChoiceField)
        checks.queryset = HealthCheck.objects.select_related("service", "environment").order_by(
            "service__name", "name", "pk"
        )
