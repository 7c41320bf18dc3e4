"""Declaring an incident: the few facts known in the first minutes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from deployments.models import Service
from incidents.models import Incident, Severity

# Clocks disagree a little, and people round "now" up; beyond this a start time is a typo.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _now_to_the_minute() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class IncidentDeclareForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), empty_label="Choose a service"
    )
    title = forms.CharField(
        max_length=Incident._meta.get_field("title").max_length,
        help_text="What users see going wrong, e.g. “Checkout returns 500”.",
    )
    severity = forms.ChoiceField(
        choices=Severity.choices, initial=Incident._meta.get_field("severity").default
    )
    started_at = forms.DateTimeField(
        label="Started at",
        initial=_now_to_the_minute,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean_started_at(self) -> datetime:
        started_at = self.cleaned_data["started_at"]
        if started_at > timezone.now() + FUTURE_TOLERANCE:
            raise forms.ValidationError(
                "That is in the future. Enter when the problem began.", code="future"
            )
        return started_at
