"""Forms for communications and their templates; they validate, the services write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from deployments.probing import validate_target_url
from incidents.communications import services
from incidents.models import (
    Communication,
    CommunicationTemplate,
    Component,
    ComponentStatus,
    WebhookEndpoint,
)
from incidents.postmortem.forms import markdown_widget


class CommunicationTemplateForm(forms.ModelForm):
    """Used by the template pages and the admin alike: a template that would fail when a draft
    is made from it (syntax, an unknown or internal placeholder, an underscore) is a field error
    here, at save time."""

    class Meta:
        model = CommunicationTemplate
        fields = ["name", "slug", "audience", "phase", "subject_template", "body_template"]
        widgets = {
            "subject_template": forms.TextInput(attrs={"spellcheck": "true"}),
            "body_template": forms.Textarea(attrs={"rows": 16, "spellcheck": "true"}),
        }
        help_texts = {
            "phase": "For status page updates: which stage of the incident it announces.",
            "body_template": "Markdown with {{ placeholders }}, {% if %} and {% for %}.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body_template"].validators.append(
            MaxLengthValidator(settings.HINDSIGHT_MARKDOWN_MAX_LENGTH)
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        names = ("audience", "subject_template", "body_template")
        if all(data.get(name) is not None for name in names):
            try:
                services.communication_template_check(**{name: data[name] for name in names})
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field, messages)
        return data


class GenerateForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=CommunicationTemplate.objects.order_by("audience", "name"),
        to_field_name="slug",
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of the listed templates."},
    )


class CommunicationForm(forms.Form):
    """A draft's text. `expected` is when the editor's copy was last saved, so saving on top of
    someone else's change is refused rather than overwriting it."""

    subject = forms.CharField(max_length=Communication._meta.get_field("subject").max_length)
    body = forms.CharField(
        required=False,
        strip=False,
        help_text="Markdown. Sent as written, as text and as HTML.",
        validators=[MaxLengthValidator(settings.HINDSIGHT_MARKDOWN_MAX_LENGTH)],
        widget=markdown_widget("body"),
    )
    expected = forms.DateTimeField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, components: Sequence[Component] = (), **kwargs: Any) -> None:
        """`components`: for a status page update, the components it may name; each gets a
        choice of the status the update gives it, or none (not affected)."""
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["rows"] = 14
        self.fields["body"].is_markdown = True  # type: ignore[attr-defined]  # for the template
        self._component_fields: dict[str, int] = {}
        for component in components:
            name = f"component_{component.pk}"
            self.fields[name] = forms.ChoiceField(
                label=str(component)
                if component.group is None
                else f"{component.group.name}: {component}",
                required=False,
                choices=[("", "Not affected"), *ComponentStatus.choices],
                help_text="The status it takes when this update is published.",
            )
            self._component_fields[name] = component.pk

    def component_statuses(self) -> dict[int, str]:
        """The components named and their status, by id (after is_valid())."""
        return {
            pk: self.cleaned_data[name]
            for name, pk in self._component_fields.items()
            if self.cleaned_data.get(name)
        }


class WebhookEndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "active"]
        help_texts = {
            "url": "Where the events it follows are POSTed, signed with this endpoint's "
            "secret. Private and loopback addresses are refused.",
        }

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        validate_target_url(url)
        return url
