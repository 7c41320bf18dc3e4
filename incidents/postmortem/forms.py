"""Forms for writing the post-mortem: declaring it, its prose, its details and its section rows.

They validate only; views hand the cleaned data to incidents.postmortem.services.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import QuerySet
from django.forms.models import fields_for_model, modelform_factory
from django.utils import timezone

from core.forms import PersonField, ZonedDateTimeInput
from deployments.models import Deployment, Service
from incidents.models import Incident, PathPriority, Severity
from incidents.models.base import MarkdownModel
from incidents.postmortem.sections import DETAIL_FIELDS, Section
from incidents.postmortem.services import comparable

DATETIME_INPUT = ZonedDateTimeInput()
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
BASE_SALT = "incidents.prose-base"


def markdown_widget(name: str, *, attachments: bool = False) -> forms.Textarea:
    attrs = {"rows": 6, "spellcheck": "true"}
    if attachments:
        # static/js/attach.js takes files pasted or dropped here (the post-mortem's own texts;
        # not messages to the public, who could never fetch an attachment).
        attrs["data-attach"] = "true"
    return forms.Textarea(attrs=attrs)


def _limit_markdown(form: forms.BaseForm, names: tuple[str, ...]) -> None:
    limit = settings.HINDSIGHT_MARKDOWN_MAX_LENGTH
    for name in names:
        if name in form.fields:
            form.fields[name].validators.append(MaxLengthValidator(limit))
            form.fields[name].widget = markdown_widget(name, attachments=True)
            form.fields[name].is_markdown = True  # type: ignore[attr-defined]  # for the template


def _choose_from(form: forms.BaseForm, name: str, queryset: QuerySet[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)  # a relation's form field
    field.queryset = queryset


def _one_line_ending(text: str) -> str:
    return text.replace("\r\n", "\n")


def sign_base(values: dict[str, Any]) -> str:
    """What an editor started from, signed, so the form can carry it without being trusted."""
    return signing.dumps({k: comparable(v) for k, v in values.items()}, salt=BASE_SALT)


def load_base(raw: str) -> dict[str, str]:
    if not raw:
        return {}
    try:
        return signing.loads(raw, salt=BASE_SALT)
    except signing.BadSignature:
        raise forms.ValidationError("The form was tampered with; reload the page.") from None


class SectionRowForm(forms.ModelForm):
    """A row of one section. The incident is fixed by the URL, never by the form.

    Editing a row, the form also carries the row's version and what each field held when the
    editor opened it (`base`, signed), as the incident's own forms do (VersionedForm): a save
    on top of someone else's conflicts only on the fields both people changed.
    """

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident
        if self.instance.pk:
            # Not required: a form opened before rows had versions is answered with what
            # changed since, never saved blindly (see the row view).
            self.fields["version"] = forms.IntegerField(
                min_value=1, widget=forms.HiddenInput, required=False
            )
            self.fields["base"] = forms.CharField(widget=forms.HiddenInput, required=False)
        if hasattr(self.instance, "incident_id"):
            self.instance.incident = incident
        model = self._meta.model
        if "parent" in self.fields:
            # Nest only under top-level rows of the same incident, and never under itself.
            parents = model.objects.filter(incident=incident, parent__isnull=True)
            if self.instance.pk:
                parents = parents.exclude(pk=self.instance.pk)
            _choose_from(self, "parent", parents)
        if "deployment" in self.fields:
            _choose_from(
                self,
                "deployment",
                Deployment.objects.filter(
                    environment__service_id=incident.service_id
                ).select_related("environment"),
            )
        if "owner" in self.fields:
            # Typed as a username with suggestions, not a select of every user (a page would
            # grow with the staff list).
            listed = self.fields["owner"]
            self.fields["owner"] = PersonField(
                required=listed.required, label=listed.label, help_text=listed.help_text
            )
            if getattr(self.instance, "owner_id", None):
                self.initial["owner"] = self.instance.owner
        if "priority" in self.fields and model.__name__ == "SolutionOption":
            _choose_from(self, "priority", PathPriority.objects.filter(incident=incident))
        if issubclass(model, MarkdownModel):
            _limit_markdown(self, model.markdown_fields)

    def clean_base(self) -> dict[str, str]:
        return load_base(self.cleaned_data.get("base") or "")

    def edited_fields(self, names: Iterable[str], base: dict[str, str]) -> list[str]:
        """The fields among `names` whose value differs from what the editor started from."""
        edited = []
        for name in names:
            value = self.cleaned_data.get(name)
            started = base.get(name)
            if isinstance(value, datetime) and started:
                # The form shows times to the minute: seconds it never showed are no edit.
                shown = datetime.fromisoformat(started).replace(second=0, microsecond=0)
                if value == shown:
                    continue
            elif _one_line_ending(comparable(value)) == _one_line_ending(started or ""):
                # Browsers post a text box with CRLF, whatever the stored text had.
                continue
            edited.append(name)
        return edited

    def as_posted(self, name: str, value: Any) -> list[str]:
        """`value` as the browser would post it in this form's field `name`."""
        field = self.fields[name]
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            return ["on"] if value else []
        shown = widget.format_value(field.prepare_value(value))
        if shown is None:
            return []
        if isinstance(shown, list | tuple):
            return [str(v) for v in shown]
        return [str(shown)]


def section_form_class(section: Section) -> type[SectionRowForm]:
    widgets: dict[str, forms.Widget | type[forms.Widget]] = {}
    for name in section.fields:
        field = section.model._meta.get_field(name)
        if field.get_internal_type() == "DateTimeField":
            widgets[name] = DATETIME_INPUT
        elif field.get_internal_type() == "DateField":
            widgets[name] = DATE_INPUT
    # The factory's stub returns a plain ModelForm class; it subclasses the form it is given.
    return cast(
        "type[SectionRowForm]",
        modelform_factory(
            section.model, form=SectionRowForm, fields=section.fields, widgets=widgets
        ),
    )


class VersionedForm(forms.Form):
    """Carries what the editor started from: the incident's version and the fields' values then.

    `base` is signed so a stale save can tell "someone changed this very text" (a conflict) from
    "someone changed something else" (save on top of it).
    """

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    base = forms.CharField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def sign_base(values: dict[str, Any]) -> str:
        return sign_base(values)

    def clean_base(self) -> dict[str, str]:
        return load_base(self.cleaned_data.get("base") or "")


class ProseForm(VersionedForm):
    value = forms.CharField(required=False, strip=False)

    def __init__(self, *args: Any, field_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_name = field_name
        model_field = Incident._meta.get_field(field_name)
        assert isinstance(model_field, models.Field)  # a text column, not a relation
        self.fields["value"].label = model_field.verbose_name.capitalize()
        self.fields["value"].help_text = model_field.help_text
        self.fields["value"].validators.append(
            MaxLengthValidator(settings.HINDSIGHT_MARKDOWN_MAX_LENGTH)
        )
        self.fields["value"].widget = markdown_widget(field_name, attachments=True)
        self.fields["value"].is_markdown = True  # type: ignore[attr-defined]  # for the template


class DetailsForm(VersionedForm):
    """Title, severity, one-line status and the incident's times."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(Incident, fields=DETAIL_FIELDS)
        for name in DETAIL_FIELDS:
            field = model_fields[name]
            if isinstance(field, forms.DateTimeField):
                field.widget = DATETIME_INPUT
            self.fields[name] = field

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        started = data.get("started_at")
        if started:
            for name in ("detected_at", "mitigated_at", "resolved_at"):
                value = data.get(name)
                if value and value < started:
                    model_field = Incident._meta.get_field(name)
                    assert isinstance(model_field, models.Field)  # a column, not a relation
                    label = model_field.verbose_name
                    self.add_error(name, f"The {label} time cannot be before the start.")
        return data


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
        widget=ZonedDateTimeInput(),
    )

    # Made when the form is shown, sent back with it: the same form submitted twice declares
    # one incident.
    creation_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False)

    def clean_started_at(self) -> datetime:
        started_at = self.cleaned_data["started_at"]
        if started_at > timezone.now() + FUTURE_TOLERANCE:
            raise forms.ValidationError(
                "That is in the future. Enter when the problem began.", code="future"
            )
        return started_at


class DuplicateForm(forms.Form):
    """The incident page's "Mark as duplicate": which incident this one duplicates."""

    of = forms.CharField(
        label="Duplicate of",
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "INC-7", "size": 8}),
    )

    def clean_of(self) -> Incident:
        try:
            return Incident.objects.select_related("duplicate_of").by_reference(
                self.cleaned_data["of"]
            )
        except Incident.DoesNotExist:
            raise forms.ValidationError(
                "No incident has this reference; enter one such as INC-7.", code="unknown"
            ) from None


class _TransitionForm(forms.Form):
    """A change of the incident's status at a time the author gives: now unless they say when,
    so a post-mortem written after the fact reads in order."""

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident

    def _checked_time(self, name: str) -> datetime:
        value = self.cleaned_data[name]
        if value < self.incident.started_at:
            raise forms.ValidationError("This is before the incident started.", code="early")
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise forms.ValidationError("That is in the future.", code="future")
        return value


class StatusForm(_TransitionForm):
    """Investigating, identified or monitoring; resolving has a form of its own, which asks for
    the end."""

    status = forms.ChoiceField(
        label="Incident status",
        choices=[(v, label) for v, label in Incident.Status.choices if v != "resolved"],
    )
    at = forms.DateTimeField(label="As of", initial=_now_to_the_minute, widget=DATETIME_INPUT)

    def clean_at(self) -> datetime:
        return self._checked_time("at")


class ResolveForm(_TransitionForm):
    """Resolving asks when it ended: the end already written down if there is one, else now."""

    resolved_at = forms.DateTimeField(label="Resolved at", widget=DATETIME_INPUT)

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["resolved_at"].initial = incident.resolved_at or _now_to_the_minute()

    def clean_resolved_at(self) -> datetime:
        return self._checked_time("resolved_at")


class TagsForm(forms.Form):
    """Labels and external references as typed: the labels separated by commas or spaces, one
    reference a line (`source:key` then a link if there is one). `base_*` hold what the form
    showed, so saving changes only what this editor added or removed."""

    labels = forms.CharField(
        required=False,
        max_length=1100,
        help_text="Separated by commas or spaces, e.g. customer-facing, payments.",
    )
    references = forms.CharField(
        label="External references",
        required=False,
        max_length=20 * 2300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line: source:key, then a link if there is one (pager:P1X2 https://…).",
    )
    base_labels = forms.CharField(required=False, widget=forms.HiddenInput)
    base_references = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_labels(self) -> list[str]:
        return self.cleaned_data["labels"].replace(",", " ").split()

    def clean_base_labels(self) -> list[str]:
        return self.cleaned_data["base_labels"].split()

    def clean_references(self) -> list[tuple[str, str, str]]:
        parsed, errors = [], []
        for number, line in enumerate(self.cleaned_data["references"].splitlines(), start=1):
            if not line.strip():
                continue
            pair, _space, url = line.strip().partition(" ")
            source, colon, key = pair.partition(":")
            if not colon or not source or not key:
                errors.append(f"Line {number}: write source:key, e.g. pager:P1X2.")
                continue
            parsed.append((source, key, url.strip()))
        if errors:
            raise forms.ValidationError(errors)
        return parsed

    def clean_base_references(self) -> list[tuple[str, str]]:
        pairs = (line.partition(":") for line in self.cleaned_data["base_references"].split())
        return [(source, key) for source, _colon, key in pairs]

    @staticmethod
    def initial_for(incident: Incident) -> dict[str, str]:
        labels = " ".join(label.name for label in incident.labels.all())
        references = list(incident.external_references.all())
        return {
            "labels": ", ".join(labels.split()),
            "base_labels": labels,
            "references": "\n".join(f"{r.source}:{r.key} {r.url}".strip() for r in references),
            "base_references": " ".join(f"{r.source}:{r.key}" for r in references),
        }
