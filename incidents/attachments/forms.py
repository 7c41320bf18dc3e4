"""The upload of one file into an incident, validated; the view hands it to the services."""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import UploadedFile

from incidents.attachments.services import max_bytes, too_large_message
from incidents.models import Incident, TimelineEvent


class AttachmentForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=False,
        error_messages={
            "required": "Choose a file to attach.",
            "empty": "This file is empty.",
        },
    )
    # The timeline event the file was dropped onto; its link goes at the end of the event.
    event = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: object, incident: Incident, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.incident = incident

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if (upload.size or 0) > max_bytes():
            raise forms.ValidationError(too_large_message(), code="too_large")
        return upload

    def clean_event(self) -> TimelineEvent | None:
        pk = self.cleaned_data.get("event")
        if pk is None:
            return None
        event = TimelineEvent.objects.filter(incident=self.incident, pk=pk).first()
        if event is None:
            raise forms.ValidationError(
                "That event is not on this incident any more; reload the page."
            )
        return event

    def too_large(self) -> bool:
        return any(e.code == "too_large" for e in self.errors.as_data().get("file", []))
