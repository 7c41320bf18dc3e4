"""Forms of what every app shares. They validate; core.services writes."""

from __future__ import annotations

from django import forms

from core.models import time_zone_choices

# What a person types a time as: the date and a 24-hour clock, as every page shows times. A
# datetime-local input shows the browser's own locale instead (06:18 AM in one, 06:18 in
# another), and nothing on it says which zone.
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


class ZonedDateTimeInput(forms.DateTimeInput):
    """A date and 24-hour time in the reader's zone; the form shows the zone beside the label
    (incidents/_form_fields.html). ISO 8601 ("2026-01-02T06:18") is read too."""

    zoned = True

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(
            attrs={
                "type": "text",
                "inputmode": "numeric",
                "placeholder": "2026-01-02 06:18",
                "pattern": r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?",
                "autocomplete": "off",
                "size": "16",
                **(attrs or {}),
            },
            format=DATETIME_FORMAT,
        )


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Show times in",
        choices=time_zone_choices,
        help_text="Every time on a page, and the times you type into forms. Messages to users "
        "and the status page keep the organisation's zone.",
    )
