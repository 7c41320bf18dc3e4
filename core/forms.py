"""Forms of what every app shares. They validate; core.services writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import MultipleObjectsReturned, ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.models import time_zone_choices
from core.selectors import people_active

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
    reminder_emails = forms.BooleanField(
        label="Email me reminders",
        required=False,
        help_text="Each morning in your zone: your action items that are overdue or due within "
        "three days, when there are any. Admins also get a weekly summary.",
    )


class PersonInput(forms.TextInput):
    """A username typed as text. static/js/people.js fills the datalist beside it with the people
    whose name starts with what was typed (the `people` URL, core.views.people); without JavaScript it is a
    plain text box, and a page never carries the list of every user."""

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "Nobody (type a username)",
                **(attrs or {}),
            }
        )

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        # Resolved at render time: the URLconf is not loaded when forms are declared.
        widget_attrs["data-people"] = reverse("people")
        if widget_attrs.get("id"):
            widget_attrs["list"] = f"{widget_attrs['id']}-people"
        return context

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        html = super().render(name, value, attrs, renderer)
        element_id = (attrs or {}).get("id") or self.attrs.get("id")
        if not element_id:
            return html
        return format_html('{}<datalist id="{}-people"></datalist>', html, element_id)


class PersonField(forms.ModelChoiceField):
    """An active user, typed by username (exactly, or in any case when that names one person).

    The cleaned value is the User, as a select's would be; an unknown name is an error beside the
    field that repeats what was typed, so nothing typed is lost.
    """

    widget = PersonInput
    default_error_messages = {
        "invalid_choice": "No active user has the username “%(value)s”.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", people_active())
        kwargs.setdefault("empty_label", None)
        super().__init__(to_field_name=get_user_model().USERNAME_FIELD, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        # A form's initial value from a model is the user; what was typed stays as typed.
        if isinstance(value, User):
            return value.get_username()
        return value

    def to_python(self, value: Any) -> User | None:
        if value in self.empty_values:
            return None
        if isinstance(value, User):
            return value
        typed = str(value).strip()
        if not typed:
            return None
        people = self.queryset
        assert people is not None  # set in __init__
        key = get_user_model().USERNAME_FIELD
        try:
            found = people.filter(**{key: typed}).first()
            if found is None:
                found = people.get(**{f"{key}__iexact": typed})
        except (people.model.DoesNotExist, MultipleObjectsReturned):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": typed},
            ) from None
        assert isinstance(found, User)
        return found

    def has_changed(self, initial: Any, data: Any) -> bool:
        return str(self.prepare_value(initial) or "") != str(data or "").strip()
